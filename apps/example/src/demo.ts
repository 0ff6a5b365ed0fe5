// What a frontend does with @chat/client alone: start a conversation, send messages, page the
// history back, and tell a missing conversation from bad input by the error's code.
import {
  allMessages,
  createChatClient,
  isChatError,
  messageSendInput,
  type ChatClient,
  type Conversation,
  type Message,
} from '@chat/client';

export function connect(url: string, token: string | (() => Promise<string>)): ChatClient {
  return createChatClient({ url, token });
}

export interface Transcript {
  conversation: Conversation;
  history: Message[];
}

export async function converse(
  client: ChatClient,
  name: string,
  lines: string[],
): Promise<Transcript> {
  const conversation = await client.conversation.create.mutate({ name });
  for (const content of lines) {
    // The same rules the server applies, checked before the request leaves.
    const input = messageSendInput.safeParse({ conversationId: conversation.id, content });
    if (!input.success)
      throw new Error(`not sendable: ${input.error.issues[0]?.message ?? 'invalid'}`);
    await client.message.send.mutate(input.data);
  }
  const history: Message[] = [];
  for await (const message of allMessages(client, conversation.id, { pageSize: 2 }))
    history.push(message);
  return { conversation, history };
}

/** "missing" for NOT_FOUND, the field errors for BAD_REQUEST, rethrows anything else. */
export async function describeFailure(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'ok';
  } catch (error) {
    if (isChatError(error, 'NOT_FOUND')) return 'missing';
    if (isChatError(error, 'BAD_REQUEST')) {
      return Object.keys(error.data.zodError?.fieldErrors ?? {}).join(',') || 'bad input';
    }
    throw error;
  }
}
