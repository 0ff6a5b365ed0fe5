// No orphans under concurrency: sends racing conversation deletes, and creates and sends racing
// user deletes, through the real server; then anti-joins count what the database would not check.
import { useTestDatabase } from '@chat/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientFor, codeOf, countOf, startServer, type RunningServer } from './server-harness.js';

const db = useTestDatabase();
let server: RunningServer;

beforeAll(async () => {
  server = await startServer(db.url, { RATE_LIMIT_PER_MINUTE: '0', DB_POOL_MAX: '16' });
});
afterAll(async () => {
  await server.close();
});

const count = (sql: string) => countOf(server, sql);

const orphanMessages = () =>
  count(
    'select count(*) from messages m where not exists (select 1 from conversations c where c.id = m.conversation_id)',
  );
const orphanConversations = () =>
  count(
    'select count(*) from conversations c where not exists (select 1 from users u where u.id = c.user_id)',
  );

describe('a send racing the delete of its conversation', () => {
  it('lands before the delete (and is deleted with it) or fails NOT_FOUND; never an orphan', async () => {
    const rounds = 6;
    const conversationsPerRound = 12;
    const sendsPerConversation = 50;
    const clients = await Promise.all(
      Array.from({ length: 4 }, (_, i) => clientFor(server, `racer-${i}`, { batch: false })),
    );
    let acknowledged = 0;
    let refused = 0;
    let deletedWithConversations = 0;

    for (let round = 0; round < rounds; round++) {
      // Many conversations at once, their sends shuffled together, each delete dropped in at a
      // random point among them: deletes overlap sends of their own conversation all the time.
      const tasks: (() => Promise<void>)[] = [];
      for (let c = 0; c < conversationsPerRound; c++) {
        const client = clients[c % clients.length];
        if (!client) throw new Error('no client');
        const { id } = await client.conversation.create.mutate({ name: `round ${round}` });
        for (let i = 0; i < sendsPerConversation; i++) {
          tasks.push(async () => {
            const code = await codeOf(
              client.message.send.mutate({ conversationId: id, content: `c${id} m${i}` }),
            );
            expect(['ok', 'NOT_FOUND']).toContain(code);
            if (code === 'ok') acknowledged++;
            else refused++;
          });
        }
        const at = Math.floor(tasks.length - sendsPerConversation * (0.2 + Math.random() * 0.6));
        tasks.splice(at, 0, async () => {
          const { deletedMessages } = await client.conversation.delete.mutate({ id });
          deletedWithConversations += deletedMessages; // read after the await, not before
        });
      }
      shuffleWindows(tasks, 40);
      await runConcurrently(tasks, 48);
    }

    const total = rounds * conversationsPerRound * sendsPerConversation;
    expect(acknowledged + refused).toBe(total);
    // Both outcomes happened, so the race was real.
    expect(acknowledged).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    // Every acknowledged send was in its conversation when the delete took it: exactly those.
    expect(deletedWithConversations).toBe(acknowledged);
    expect(await orphanMessages()).toBe(0);
  });
});

/** Shuffles within consecutive windows: order is scrambled locally, each delete stays mid-stream. */
function shuffleWindows(items: unknown[], window: number): void {
  for (let start = 0; start < items.length; start += window) {
    const end = Math.min(items.length, start + window);
    for (let i = end - 1; i > start; i--) {
      const j = start + Math.floor(Math.random() * (i - start + 1));
      [items[i], items[j]] = [items[j], items[i]];
    }
  }
}

/** Runs tasks with at most `limit` in flight. */
async function runConcurrently(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++];
      if (task) await task();
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

describe('creates and sends racing the delete of their user', () => {
  it('leaves no conversation without its user and no message without its conversation', async () => {
    for (let round = 0; round < 15; round++) {
      const username = `doomed-${round}`;
      const client = await clientFor(server, username, { batch: false });
      const seed = await client.conversation.create.mutate({});
      const work = [
        ...Array.from({ length: 20 }, () => codeOf(client.conversation.create.mutate({}))),
        ...Array.from({ length: 40 }, (_, i) =>
          codeOf(
            client.message.send.mutate({ conversationId: seed.id, content: `u${round} m${i}` }),
          ),
        ),
      ];
      await new Promise((resolve) => setTimeout(resolve, round % 5));
      const erased = await client.user.delete.mutate();
      const codes = await Promise.all(work);
      expect(codes.every((code) => code === 'ok' || code === 'NOT_FOUND')).toBe(true);
      expect(erased.conversations).toBeGreaterThanOrEqual(0);
    }
    expect(await orphanConversations()).toBe(0);
    expect(await orphanMessages()).toBe(0);
  });
});
