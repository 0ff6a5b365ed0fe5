import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrm, forkEntityManager, type ChatOrm } from '../orm.js';
import { useTestDatabase } from '../testing/index.js';
import { createConversation } from './conversations.js';
import { createSendQueue } from './send-queue.js';

const db = useTestDatabase();
let orm: ChatOrm;
const ann = { username: 'ann', email: null };
const bob = { username: 'bob', email: null };

beforeAll(async () => {
  orm = await createOrm({ url: db.url, pool: { max: 8 } });
});
afterAll(async () => {
  await orm.close();
});

const fork = () => forkEntityManager(orm);

describe('the send queue', () => {
  it('coalesces concurrent sends into shared statements, each caller getting its own row', async () => {
    const queue = createSendQueue({ fork, maxInFlight: 2, maxRows: 50 });
    const mine = await createConversation(fork(), ann, 'a');
    const contents = Array.from({ length: 300 }, (_, i) => `message ${i} ✓`);
    const rows = await Promise.all(contents.map((content) => queue.send(ann, mine.id, content)));
    const { statements, rows: carried } = queue.stats();
    expect(carried).toBe(300);
    expect(statements).toBeLessThan(300 / 5); // they did share statements
    expect(new Set(rows.map((row) => row?.id)).size).toBe(300);
    const stored = await fork().execute<{ id: number; content: string }[]>(
      'select id, content from messages where conversation_id = ? order by id',
      [mine.id],
    );
    const contentById = new Map(stored.map((row) => [row.id, row.content]));
    rows.forEach((row, i) => {
      expect(row?.conversationId).toBe(mine.id);
      expect(row?.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(contentById.get(row?.id ?? 0)).toBe(contents[i]);
    });
  });

  it('fails only the sends whose conversation is missing or someone else’s', async () => {
    const queue = createSendQueue({ fork, maxInFlight: 1, maxRows: 100 });
    const mine = await createConversation(fork(), ann, 'mine');
    const theirs = await createConversation(fork(), bob, 'theirs');
    const targets = Array.from(
      { length: 60 },
      (_, i) => [mine.id, theirs.id, 2_000_000_000][i % 3] ?? mine.id,
    );
    const rows = await Promise.all(targets.map((id, i) => queue.send(ann, id, `m${i}`)));
    rows.forEach((row, i) => {
      if (targets[i] === mine.id) expect(row?.conversationId).toBe(mine.id);
      else expect(row).toBeNull();
    });
    expect(queue.stats().statements).toBeLessThan(60);
  });

  it('when a shared statement fails, tries each send alone so only the bad one fails', async () => {
    const queue = createSendQueue({ fork, maxInFlight: 1, maxRows: 100 });
    const mine = await createConversation(fork(), ann, 'poisoned');
    await fork().execute(
      "alter table messages add constraint no_poison check (content <> 'poison')",
    );
    try {
      const contents = ['fine 1', 'poison', 'fine 2', 'fine 3'];
      const results = await Promise.allSettled(
        contents.map((content) => queue.send(ann, mine.id, content)),
      );
      expect(results.map((r) => r.status)).toEqual([
        'fulfilled',
        'rejected',
        'fulfilled',
        'fulfilled',
      ]);
      const stored = await fork().execute<{ content: string }[]>(
        'select content from messages where conversation_id = ? order by id',
        [mine.id],
      );
      expect(stored.map((row) => row.content).sort()).toEqual(['fine 1', 'fine 2', 'fine 3']);
    } finally {
      await fork().execute('alter table messages drop constraint no_poison');
    }
  });

  it('still sends on a connection that lost its prepared statements (DISCARD ALL, a pooler)', async () => {
    const single = await createOrm({ url: db.url, pool: { max: 1 } });
    try {
      const queue = createSendQueue({ fork: () => forkEntityManager(single) });
      const mine = await createConversation(forkEntityManager(single), ann, 'forgetful');
      expect(await queue.send(ann, mine.id, 'prepared')).not.toBeNull();
      // The pool's one connection forgets what node-postgres prepared on it.
      await forkEntityManager(single).execute('deallocate all');
      expect(await queue.send(ann, mine.id, 'after deallocate')).not.toBeNull();
      expect(await queue.send(ann, mine.id, 'and again')).not.toBeNull();
    } finally {
      await single.close();
    }
  });

  it('runs a lone send at once, as a single-row statement', async () => {
    const queue = createSendQueue({ fork });
    const mine = await createConversation(fork(), ann, 'alone');
    expect(await queue.send(ann, mine.id, 'just me')).toMatchObject({ conversationId: mine.id });
    expect(queue.stats()).toMatchObject({ statements: 1, rows: 1, waiting: 0 });
  });
});
