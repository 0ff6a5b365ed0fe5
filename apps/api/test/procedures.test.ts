// Every procedure of the contract, through a real HTTP server and the real tRPC client.
import { useTestDatabase } from '@chat/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientFor,
  codeOf,
  startServer,
  type RunningServer,
  type TestClient,
} from './server-harness.js';

const db = useTestDatabase();
let server: RunningServer;
let ann: TestClient;
let bob: TestClient;

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

beforeAll(async () => {
  server = await startServer(db.url, { RATE_LIMIT_PER_MINUTE: '0' });
  ann = await clientFor(server, 'ann', { email: 'ann@example.com' });
  bob = await clientFor(server, 'bob');
});
afterAll(async () => {
  await server.close();
});

describe('user', () => {
  it('me: the caller, created on first sight with the email claim', async () => {
    const me = await ann.user.me.query();
    expect(me).toEqual({
      id: expect.any(Number),
      username: 'ann',
      email: 'ann@example.com',
      createdAt: expect.stringMatching(ISO_UTC),
    });
    expect(await ann.user.me.query()).toEqual(me); // the same row the second time
  });

  it('update: sets and clears the email; another user’s email, in any case, is a CONFLICT', async () => {
    expect((await bob.user.update.mutate({ email: 'bob@example.com' })).email).toBe(
      'bob@example.com',
    );
    expect(await codeOf(bob.user.update.mutate({ email: 'ANN@example.com' }))).toBe('CONFLICT');
    expect((await bob.user.me.query()).email).toBe('bob@example.com');
    expect((await bob.user.update.mutate({ email: null })).email).toBeNull();
    expect((await bob.user.update.mutate({ email: 'Bob@Example.com' })).email).toBe(
      'Bob@Example.com',
    );
  });
});

describe('conversation', () => {
  it('create, get, rename: names are stored exactly as sent', async () => {
    const created = await ann.conversation.create.mutate({ name: '  Trip to Lisbon  ' });
    expect(created).toMatchObject({
      userId: (await ann.user.me.query()).id,
      name: '  Trip to Lisbon  ',
    });
    expect(created.createdAt).toMatch(ISO_UTC);
    expect(await ann.conversation.get.query({ id: created.id })).toEqual(created);
    expect(await ann.conversation.rename.mutate({ id: created.id, name: null })).toEqual({
      ...created,
      name: null,
    });
    expect((await ann.conversation.create.mutate({})).name).toBeNull();
    expect((await ann.conversation.create.mutate(undefined)).name).toBeNull();
  });

  it('list: newest first, keyset pages that end with a null cursor', async () => {
    const carl = await clientFor(server, 'carl');
    const ids: number[] = [];
    for (let i = 0; i < 7; i++)
      ids.push((await carl.conversation.create.mutate({ name: `c${i}` })).id);
    const first = await carl.conversation.list.query({ limit: 3 });
    expect(first.items.map((c) => c.id)).toEqual(ids.slice(4).reverse());
    expect(first.nextCursor).toBe(ids[4]);
    const second = await carl.conversation.list.query({ limit: 3, cursor: first.nextCursor });
    expect(second.items.map((c) => c.id)).toEqual(ids.slice(1, 4).reverse());
    const last = await carl.conversation.list.query({ limit: 3, cursor: second.nextCursor });
    expect(last).toEqual({ items: [expect.objectContaining({ id: ids[0] })], nextCursor: null });
    // Exactly a page left: no phantom cursor.
    expect((await carl.conversation.list.query({ limit: 7 })).nextCursor).toBeNull();
    expect((await carl.conversation.list.query()).items).toHaveLength(7); // default limit 20
  });

  it('delete: the conversation and its messages, in one go', async () => {
    const conversation = await ann.conversation.create.mutate({ name: 'short-lived' });
    await ann.message.send.mutate({ conversationId: conversation.id, content: 'one' });
    await ann.message.send.mutate({ conversationId: conversation.id, content: 'two' });
    expect(await ann.conversation.delete.mutate({ id: conversation.id })).toEqual({
      id: conversation.id,
      deletedMessages: 2,
    });
    expect(await codeOf(ann.conversation.get.query({ id: conversation.id }))).toBe('NOT_FOUND');
    expect(await codeOf(ann.conversation.delete.mutate({ id: conversation.id }))).toBe('NOT_FOUND');
    const [{ n }] = await server.orm.em
      .fork()
      .getConnection()
      .execute<[{ n: number }]>(
        'select count(*)::int as n from messages where conversation_id = ?',
        [conversation.id],
      );
    expect(n).toBe(0);
  });
});

describe('message', () => {
  it('send: a user message, stored exactly as sent', async () => {
    const conversation = await ann.conversation.create.mutate({ name: 'chat' });
    const content = 'Hello 👋 — «quoted», tabs\tand\nnewlines, \u200b zero-width, עברית';
    const message = await ann.message.send.mutate({ conversationId: conversation.id, content });
    expect(message).toEqual({
      id: expect.any(Number),
      conversationId: conversation.id,
      role: 'user',
      content,
      createdAt: expect.stringMatching(ISO_UTC),
    });
    const page = await ann.message.list.query({ conversationId: conversation.id });
    expect(page).toEqual({ items: [message], nextCursor: null });
  });

  it('list: keyset pages on id in both directions', async () => {
    const conversation = await ann.conversation.create.mutate({ name: 'paging' });
    const sent: number[] = [];
    for (let i = 0; i < 9; i++)
      sent.push(
        (await ann.message.send.mutate({ conversationId: conversation.id, content: `m${i}` })).id,
      );

    const walk = async (order: 'asc' | 'desc') => {
      const seen: number[] = [];
      let cursor: number | null = null;
      do {
        const page: { items: { id: number }[]; nextCursor: number | null } =
          await ann.message.list.query({
            conversationId: conversation.id,
            limit: 4,
            order,
            cursor,
          });
        seen.push(...page.items.map((m) => m.id));
        cursor = page.nextCursor;
      } while (cursor !== null);
      return seen;
    };
    expect(await walk('desc')).toEqual([...sent].reverse());
    expect(await walk('asc')).toEqual(sent);
    const newest = await ann.message.list.query({ conversationId: conversation.id, limit: 2 });
    expect(newest.items.map((m) => m.content)).toEqual(['m8', 'm7']);
    const empty = await ann.conversation.create.mutate({});
    expect(await ann.message.list.query({ conversationId: empty.id })).toEqual({
      items: [],
      nextCursor: null,
    });
  });

  it('a batch of sends runs each call on its own unit of work', async () => {
    const conversation = await ann.conversation.create.mutate({});
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        ann.message.send.mutate({ conversationId: conversation.id, content: `b${i}` }),
      ),
    );
    expect(new Set(results.map((m) => m.id)).size).toBe(20);
    expect(results.map((m) => m.content)).toEqual(Array.from({ length: 20 }, (_, i) => `b${i}`));
  });
});

describe('ownership: another user’s things are missing things', () => {
  it('answers NOT_FOUND through every procedure that names a conversation', async () => {
    const mine = await ann.conversation.create.mutate({ name: 'private' });
    await ann.message.send.mutate({ conversationId: mine.id, content: 'secret' });
    const missing = 2_147_483_000;
    for (const id of [mine.id, missing]) {
      expect(await codeOf(bob.conversation.get.query({ id }))).toBe('NOT_FOUND');
      expect(await codeOf(bob.conversation.rename.mutate({ id, name: 'mine now' }))).toBe(
        'NOT_FOUND',
      );
      expect(await codeOf(bob.conversation.delete.mutate({ id }))).toBe('NOT_FOUND');
      expect(await codeOf(bob.message.send.mutate({ conversationId: id, content: 'hi' }))).toBe(
        'NOT_FOUND',
      );
      expect(await codeOf(bob.message.list.query({ conversationId: id }))).toBe('NOT_FOUND');
    }
    // Same error, same message: a probe cannot tell "someone else's" from "not there".
    const foreign = await bob.conversation.get.query({ id: mine.id }).catch((e: unknown) => e);
    const absent = await bob.conversation.get.query({ id: missing }).catch((e: unknown) => e);
    expect((foreign as Error).message).toBe((absent as Error).message);
    // Lists and exports never include it; ann's data is untouched.
    expect((await bob.conversation.list.query()).items.map((c) => c.id)).not.toContain(mine.id);
    expect((await bob.user.export.query()).conversations.map((c) => c.id)).not.toContain(mine.id);
    expect(await ann.conversation.get.query({ id: mine.id })).toEqual(mine);
    expect(
      (await ann.message.list.query({ conversationId: mine.id })).items.map((m) => m.content),
    ).toEqual(['secret']);
  });
});

describe('export and delete of a user', () => {
  it('export: the user, every conversation and every message, in order', async () => {
    const dora = await clientFor(server, 'dora', { email: 'dora@example.com' });
    const a = await dora.conversation.create.mutate({ name: 'a' });
    const b = await dora.conversation.create.mutate({ name: 'b' });
    const m1 = await dora.message.send.mutate({ conversationId: a.id, content: '1' });
    const m2 = await dora.message.send.mutate({ conversationId: b.id, content: '2' });
    const m3 = await dora.message.send.mutate({ conversationId: a.id, content: '3' });
    expect(await dora.user.export.query()).toEqual({
      user: await dora.user.me.query(),
      conversations: [
        { ...a, messages: [m1, m3] },
        { ...b, messages: [m2] },
      ],
    });
  });

  it('delete: erases the caller, its conversations and messages; the next call starts afresh', async () => {
    const eve = await clientFor(server, 'eve');
    const before = await eve.user.me.query();
    for (let i = 0; i < 3; i++) {
      const c = await eve.conversation.create.mutate({});
      await eve.message.send.mutate({ conversationId: c.id, content: 'x' });
      await eve.message.send.mutate({ conversationId: c.id, content: 'y' });
    }
    expect(await eve.user.delete.mutate()).toEqual({ conversations: 3, messages: 6 });
    const rows = await server.orm.em
      .fork()
      .getConnection()
      .execute<{ n: number }[]>(
        `select (select count(*) from users where id = ?)::int
              + (select count(*) from conversations where user_id = ?)::int as n`,
        [before.id, before.id],
      );
    expect(rows[0]?.n).toBe(0);
    const after = await eve.user.me.query();
    expect(after.id).not.toBe(before.id);
    expect((await eve.conversation.list.query()).items).toEqual([]);
  });
});

describe('round trips to the database', () => {
  /** Counts the SQL statements the server's pool runs while `work` does. */
  async function statements(work: () => Promise<unknown>): Promise<number> {
    const knex = server.orm.em.getConnection().getKnex();
    let count = 0;
    const listener = () => {
      count++;
    };
    knex.on('query', listener);
    try {
      await work();
    } finally {
      knex.off('query', listener);
    }
    return count;
  }

  it('message.send is one statement in the common case', async () => {
    const client = await clientFor(server, 'counted', { batch: false });
    const conversation = await client.conversation.create.mutate({});
    expect(
      await statements(() =>
        client.message.send.mutate({ conversationId: conversation.id, content: 'one trip' }),
      ),
    ).toBe(1);
  });

  it('so are create, get, rename, list and a history page', async () => {
    const client = await clientFor(server, 'counted', { batch: false });
    expect(await statements(() => client.conversation.create.mutate({}))).toBe(1);
    const { id } = await client.conversation.create.mutate({});
    expect(await statements(() => client.conversation.get.query({ id }))).toBe(1);
    expect(await statements(() => client.conversation.rename.mutate({ id, name: 'n' }))).toBe(1);
    expect(await statements(() => client.conversation.list.query({}))).toBe(1);
    await client.message.send.mutate({ conversationId: id, content: 'x' });
    expect(await statements(() => client.message.list.query({ conversationId: id }))).toBe(1);
    expect(await statements(() => client.user.me.query())).toBe(1);
  });
});
