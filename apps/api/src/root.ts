import { DEFAULT_MAX_MESSAGE_CHARS } from '@chat/contracts';
import { conversationRouter } from './routers/conversation.js';
import { createMessageRouter } from './routers/message.js';
import { userRouter } from './routers/user.js';
import { router } from './trpc.js';

export interface RouterLimits {
  maxMessageChars: number;
}

/** Every domain router, mounted under its name; limits come from configuration. */
export function createAppRouter(
  { maxMessageChars }: RouterLimits = { maxMessageChars: DEFAULT_MAX_MESSAGE_CHARS },
) {
  return router({
    user: userRouter,
    conversation: conversationRouter,
    message: createMessageRouter(maxMessageChars),
  });
}

export type AppRouter = ReturnType<typeof createAppRouter>;
