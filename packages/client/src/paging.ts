// Async iterators that walk nextCursor for you: every message of a conversation, every conversation
// of the caller, one page request at a time.
import { MESSAGE_PAGE, CONVERSATION_PAGE, type Conversation, type Message } from '@chat/contracts';
import type { ChatClient } from './client.js';

export interface PagingOptions {
  /** Items per request (the api's maximum by default: fewest round trips). */
  pageSize?: number;
  /** Stop early: checked before every page request. */
  signal?: AbortSignal;
}

/**
 * Every message of a conversation, oldest first by default (`order: 'desc'` for newest first).
 *
 * ```ts
 * for await (const message of allMessages(client, conversationId)) render(message);
 * ```
 */
export async function* allMessages(
  client: ChatClient,
  conversationId: number,
  {
    order = 'asc',
    pageSize = MESSAGE_PAGE.max,
    signal,
  }: PagingOptions & { order?: 'asc' | 'desc' } = {},
): AsyncGenerator<Message, void, undefined> {
  let cursor: number | null = null;
  do {
    signal?.throwIfAborted();
    const page = await client.message.list.query(
      { conversationId, order, limit: pageSize, cursor },
      signal ? { signal } : undefined,
    );
    yield* page.items;
    cursor = page.nextCursor;
  } while (cursor !== null);
}

/** Every conversation of the caller, newest first. */
export async function* allConversations(
  client: ChatClient,
  { pageSize = CONVERSATION_PAGE.max, signal }: PagingOptions = {},
): AsyncGenerator<Conversation, void, undefined> {
  let cursor: number | null = null;
  do {
    signal?.throwIfAborted();
    const page = await client.conversation.list.query(
      { limit: pageSize, cursor },
      signal ? { signal } : undefined,
    );
    yield* page.items;
    cursor = page.nextCursor;
  } while (cursor !== null);
}
