// The client against a real server on a real database: token refresh, batches split at the cap,
// error narrowing, and the paging iterators.
import { startServer, tokenFor, type RunningServer } from '@chat/api/testing';
import { useTestDatabase } from '@chat/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allConversations,
  allMessages,
  createChatClient,
  fieldErrors,
  isChatError,
} from '../src/index.js';

const db = useTestDatabase();
const BATCH_CAP = 5;
let server: RunningServer;
let url: string;

beforeAll(async () => {
  server = await startServer(db.url, {
    MAX_BATCH_SIZE: String(BATCH_CAP),
    RATE_LIMIT_PER_MINUTE: '0',
  });
  url = `${server.url}/trpc`;
});
afterAll(async () => {
  await server.close();
});

/** A fetch that records how many calls each HTTP request carried. */
function countingFetch() {
  const requests: number[] = [];
  const fetcher: typeof fetch = (input, init) => {
    const path = new URL(input instanceof Request ? input.url : input.toString()).pathname;
    requests.push(path.replace('/trpc/', '').split(',').length);
    return fetch(input, init);
  };
  return { fetcher, requests };
}

describe('createChatClient', () => {
  it('calls every procedure with full types, as the README shows', async () => {
    const client = createChatClient({
      url,
      token: await tokenFor('reader', { email: 'reader@example.com' }),
    });
    const me = await client.user.me.query();
    expect(me).toMatchObject({ username: 'reader', email: 'reader@example.com' });
    const conversation = await client.conversation.create.mutate({ name: 'typed' });
    const message = await client.message.send.mutate({
      conversationId: conversation.id,
      content: 'hi',
    });
    expect(message).toMatchObject({ conversationId: conversation.id, role: 'user', content: 'hi' });
    expect((await client.message.list.query({ conversationId: conversation.id })).items).toEqual([
      message,
    ]);
  });

  it('asks a token function before every request, so a frontend can refresh it', async () => {
    const expired = await tokenFor('refresher', { expiresIn: '-1h' });
    const fresh = await tokenFor('refresher');
    let calls = 0;
    const client = createChatClient({
      url,
      batch: false,
      token: async () => {
        calls++;
        await Promise.resolve();
        return calls === 1 ? expired : fresh;
      },
    });
    const first = await client.user.me.query().catch((error: unknown) => error);
    expect(isChatError(first, 'UNAUTHORIZED')).toBe(true);
    expect((await client.user.me.query()).username).toBe('refresher'); // refreshed, not cached
    expect(calls).toBe(2);
  });

  it('sends extra headers, static or per request', async () => {
    const seen: string[] = [];
    const client = createChatClient({
      url,
      token: await tokenFor('headers'),
      headers: () => ({ 'x-request-id': `r${seen.length}` }),
      fetch: (input, init) => {
        seen.push(new Headers(init?.headers).get('x-request-id') ?? 'none');
        return fetch(input, init);
      },
    });
    await client.user.me.query();
    expect(seen).toEqual(['r0']);
  });

  it('splits batches at maxBatchSize, so the server never refuses one', async () => {
    const { fetcher, requests } = countingFetch();
    const client = createChatClient({
      url,
      token: await tokenFor('batcher'),
      maxBatchSize: BATCH_CAP,
      fetch: fetcher,
    });
    const { id } = await client.conversation.create.mutate({});
    requests.length = 0;
    const sent = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        client.message.send.mutate({ conversationId: id, content: `m${i}` }),
      ),
    );
    expect(sent).toHaveLength(12);
    expect(requests).toEqual([5, 5, 2]);
  });

  it('a batch over the server’s cap is refused whole: why maxBatchSize must match it', async () => {
    const client = createChatClient({
      url,
      token: await tokenFor('batcher'),
      maxBatchSize: BATCH_CAP + 1,
    });
    const { id } = await client.conversation.create.mutate({});
    const results = await Promise.allSettled(
      Array.from({ length: BATCH_CAP + 1 }, () =>
        client.message.send.mutate({ conversationId: id, content: 'x' }),
      ),
    );
    expect(
      results.every((r) => r.status === 'rejected' && isChatError(r.reason, 'BAD_REQUEST')),
    ).toBe(true);
    expect(
      await createChatClient({ url, token: await tokenFor('batcher') }).message.list.query({
        conversationId: id,
      }),
    ).toEqual({
      items: [],
      nextCursor: null,
    });
  });

  it('sends one request per call when batching is off', async () => {
    const { fetcher, requests } = countingFetch();
    const client = createChatClient({
      url,
      token: await tokenFor('single'),
      batch: false,
      fetch: fetcher,
    });
    await Promise.all([client.user.me.query(), client.conversation.list.query()]);
    expect(requests).toEqual([1, 1]);
  });

  it('refuses a maxBatchSize that is not a positive integer', () => {
    expect(() => createChatClient({ url, token: 't', maxBatchSize: 0 })).toThrow(RangeError);
  });
});

describe('isChatError', () => {
  it('narrows by code and exposes the field errors of a BAD_REQUEST', async () => {
    const client = createChatClient({ url, token: await tokenFor('errors') });
    const missing = await client.conversation.get
      .query({ id: 2_000_000_000 })
      .catch((error: unknown) => error);
    expect(isChatError(missing, 'NOT_FOUND')).toBe(true);
    expect(isChatError(missing, 'CONFLICT')).toBe(false);
    expect(isChatError(missing)).toBe(true);
    expect(isChatError(new Error('not from the api'))).toBe(false);

    const { id } = await client.conversation.create.mutate({});
    const bad = await client.message.send
      .mutate({ conversationId: id, content: '' })
      .catch((error: unknown) => error);
    expect(isChatError(bad, 'BAD_REQUEST')).toBe(true);
    if (isChatError(bad, 'BAD_REQUEST'))
      expect(bad.data.zodError?.fieldErrors.content).toHaveLength(1);
    expect(Object.keys(fieldErrors(bad))).toEqual(['content']);
    expect(fieldErrors(missing)).toEqual({});
  });
});

describe('paging iterators', () => {
  it('walk every message of a conversation, in either order', async () => {
    const client = createChatClient({ url, token: await tokenFor('pager') });
    const { id } = await client.conversation.create.mutate({});
    const sent: number[] = [];
    for (let i = 0; i < 23; i++)
      sent.push((await client.message.send.mutate({ conversationId: id, content: `${i}` })).id);
    const ascending: number[] = [];
    for await (const message of allMessages(client, id, { pageSize: 5 }))
      ascending.push(message.id);
    expect(ascending).toEqual(sent);
    const descending: number[] = [];
    for await (const message of allMessages(client, id, { order: 'desc', pageSize: 7 }))
      descending.push(message.id);
    expect(descending).toEqual([...sent].reverse());
  });

  it('walk every conversation of the caller, newest first, and stop on abort', async () => {
    const client = createChatClient({ url, token: await tokenFor('lister') });
    const created: number[] = [];
    for (let i = 0; i < 11; i++) created.push((await client.conversation.create.mutate({})).id);
    const seen: number[] = [];
    for await (const conversation of allConversations(client, { pageSize: 4 }))
      seen.push(conversation.id);
    expect(seen).toEqual([...created].reverse());

    const controller = new AbortController();
    const partial: number[] = [];
    await expect(
      (async () => {
        for await (const conversation of allConversations(client, {
          pageSize: 4,
          signal: controller.signal,
        })) {
          partial.push(conversation.id);
          controller.abort();
        }
      })(),
    ).rejects.toThrow();
    expect(partial.length).toBeLessThanOrEqual(4);
  });
});
