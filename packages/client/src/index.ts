// @chat/client: everything a frontend or another app needs to call the chat api with full types.
// The api's router is imported as a type only: no server code reaches a consumer's bundle.
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '@chat/api';

export {
  createChatClient,
  type ChatClient,
  type ChatClientOptions,
  type TokenSource,
} from './client.js';
export {
  isChatError,
  fieldErrors,
  type ChatClientError,
  type ChatErrorCode,
  type ChatErrorWithCode,
} from './errors.js';
export { allMessages, allConversations, type PagingOptions } from './paging.js';

export type { AppRouter } from '@chat/api';
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;

// The DTOs, the input schemas and the limits, so a form can be validated with the server's rules.
export {
  type User,
  type Conversation,
  type Message,
  type Page,
  type MessageRole,
  type InputErrors,
  type UserUpdateInput,
  type ConversationCreateInput,
  type ConversationListInput,
  type ConversationRenameInput,
  type MessageSendInput,
  type MessageListInput,
  userUpdateInput,
  conversationCreateInput,
  conversationListInput,
  conversationIdInput,
  conversationRenameInput,
  conversationNameSchema,
  emailSchema,
  messageSendInput,
  messageSendInputSchema,
  messageListInput,
  idSchema,
  characterCount,
  ID_MAX,
  NAME_MAX_CHARS,
  EMAIL_MAX_CHARS,
  DEFAULT_MAX_MESSAGE_CHARS,
  DEFAULT_MAX_BATCH_SIZE,
  CONVERSATION_PAGE,
  MESSAGE_PAGE,
  MESSAGE_ROLES,
} from '@chat/contracts';
