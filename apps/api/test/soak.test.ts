// The soak: for a bounded time, many callers at once create conversations, send (one call per
// request and batched), read, rename, and delete conversations and whole users, all racing each
// other through the real server. Afterwards the books must balance exactly (every acknowledged
// send is stored, or was counted by the delete that erased it) and `db:check`, run as the command
// an operator would run, finds zero orphans.
//
// The default run is short; `CHAT_SOAK_SECONDS=600 pnpm test:long` soaks for ten minutes.
import { fileURLToPath } from 'node:url';
import { useTestDatabase } from '@chat/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScript } from './process-harness.js';
import {
  clientFor,
  codeOf,
  countOf,
  startServer,
  type RunningServer,
  type TestClient,
} from './server-harness.js';

const SOAK_SECONDS = Number(process.env.CHAT_SOAK_SECONDS ?? '8');
/** Callers running at once, and the users they act as (several callers share each user). */
const CALLERS = 24;
const USERS = 8;

const db = useTestDatabase();
let server: RunningServer;

beforeAll(async () => {
  server = await startServer(db.url, { RATE_LIMIT_PER_MINUTE: '0', DB_POOL_MAX: '16' });
});
afterAll(async () => {
  await server.close();
});

/** What the callers were told, which the database must agree with at the end. */
interface Ledger {
  /** Acknowledged sends per conversation id. */
  sent: Map<number, number>;
  /** Conversations whose create was acknowledged. */
  created: number;
  /** Conversations and messages the acknowledged deletes reported erasing. */
  erasedConversations: number;
  erasedMessages: number;
  /** Calls by what they were and how they ended ('send ok', 'send NOT_FOUND', ...). */
  outcomes: Map<string, number>;
}

/** Conversation ids each user was last known to own: stale on purpose, deletes race sends. */
const known = new Map<string, number[]>();

function pick<T>(items: readonly T[]): T | undefined {
  return items[Math.floor(Math.random() * items.length)];
}

async function caller(
  username: string,
  client: TestClient,
  ledger: Ledger,
  deadline: number,
): Promise<void> {
  const note = (what: string, code: string) => {
    const key = `${what} ${code}`;
    ledger.outcomes.set(key, (ledger.outcomes.get(key) ?? 0) + 1);
    // Racing a delete may answer NOT_FOUND; nothing else is acceptable, not even a retryable 503.
    if (code !== 'ok' && code !== 'NOT_FOUND') throw new Error(`${key}: unexpected`);
  };
  const mine = () => known.get(username) ?? [];
  while (Date.now() < deadline) {
    const roll = Math.random();
    const target = pick(mine());
    if (roll < 0.1 || target === undefined) {
      let id = 0;
      note(
        'create',
        await codeOf(
          client.conversation.create.mutate({ name: 'soak' }).then((c) => {
            id = c.id;
          }),
        ),
      );
      if (id !== 0) {
        ledger.created++;
        known.set(username, [...mine(), id].slice(-6));
      }
    } else if (roll < 0.8) {
      // A burst of sends to one conversation: batched callers put them in one HTTP request.
      const sends = Array.from({ length: 1 + Math.floor(Math.random() * 8) }, (_, i) =>
        codeOf(
          client.message.send
            .mutate({ conversationId: target, content: `soak ${username} ${i}` })
            .then(() => {
              ledger.sent.set(target, (ledger.sent.get(target) ?? 0) + 1);
            }),
        ),
      );
      for (const code of await Promise.all(sends)) note('send', code);
    } else if (roll < 0.88) {
      note('list', await codeOf(client.message.list.query({ conversationId: target, limit: 20 })));
      note('conversations', await codeOf(client.conversation.list.query({ limit: 10 })));
    } else if (roll < 0.93) {
      note('rename', await codeOf(client.conversation.rename.mutate({ id: target, name: 'r' })));
    } else if (roll < 0.99) {
      note(
        'delete conversation',
        await codeOf(
          client.conversation.delete.mutate({ id: target }).then(({ deletedMessages }) => {
            ledger.erasedConversations++;
            ledger.erasedMessages += deletedMessages;
          }),
        ),
      );
      known.set(
        username,
        mine().filter((id) => id !== target),
      );
    } else {
      // The user goes with everything it owns; its next call creates it again, with a new id.
      note(
        'delete user',
        await codeOf(
          client.user.delete.mutate().then(({ conversations, messages }) => {
            ledger.erasedConversations += conversations;
            ledger.erasedMessages += messages;
          }),
        ),
      );
      known.set(username, []);
    }
  }
}

/** Runs `pnpm db:check --json`'s script as its own process against this file's database. */
function dbCheck() {
  const script = fileURLToPath(new URL('../../../packages/db/src/cli/check.ts', import.meta.url));
  return runScript(script, ['--json'], { DATABASE_URL: db.url });
}

describe(`a ${String(SOAK_SECONDS)} s soak of every write racing every delete`, () => {
  // The soak itself, then the counting and db:check.
  it(
    'balances the books exactly, and db:check finds zero orphans',
    { timeout: (SOAK_SECONDS + 60) * 1_000 },
    async () => {
      const ledger: Ledger = {
        sent: new Map(),
        created: 0,
        erasedConversations: 0,
        erasedMessages: 0,
        outcomes: new Map(),
      };
      const usernames = Array.from({ length: USERS }, (_, i) => `soak-${String(i)}`);
      const callers = await Promise.all(
        Array.from({ length: CALLERS }, async (_, i) => {
          const username = usernames[i % USERS] ?? 'soak-0';
          // Half the callers batch (their bursts share an HTTP request), half send one per request.
          return { username, client: await clientFor(server, username, { batch: i % 2 === 0 }) };
        }),
      );
      const deadline = Date.now() + SOAK_SECONDS * 1_000;
      await Promise.all(
        callers.map(({ username, client }) => caller(username, client, ledger, deadline)),
      );

      // Messages: every acknowledged send is stored, or was erased (and counted) by a delete.
      const acknowledged = [...ledger.sent.values()].reduce((sum, n) => sum + n, 0);
      const stored = await countOf(server, 'select count(*) from messages');
      expect(stored + ledger.erasedMessages).toBe(acknowledged);
      // ... and each conversation still here holds exactly the sends acknowledged into it.
      const rows = await server.orm.em
        .fork()
        .getConnection()
        .execute<{ conversation_id: number; n: number }[]>(
          'select conversation_id, count(*)::int as n from messages group by conversation_id',
        );
      for (const { conversation_id, n } of rows)
        expect(n, `conversation ${String(conversation_id)}`).toBe(ledger.sent.get(conversation_id));
      // Conversations: every acknowledged create is here, or was counted by a delete.
      const conversations = await countOf(server, 'select count(*) from conversations');
      expect(conversations + ledger.erasedConversations).toBe(ledger.created);

      // The race was real: sends lost to deletes, deletes of both kinds, and plenty of traffic.
      expect(ledger.outcomes.get('send NOT_FOUND') ?? 0).toBeGreaterThan(0);
      expect(ledger.outcomes.get('delete conversation ok') ?? 0).toBeGreaterThan(0);
      expect(ledger.outcomes.get('delete user ok') ?? 0).toBeGreaterThan(0);
      expect(acknowledged).toBeGreaterThan(1_000);

      const check = await dbCheck();
      expect(check.code, check.stderr).toBe(0);
      const report = JSON.parse(check.stdout) as {
        clean: boolean;
        findings: { problem: string; count: number }[];
      };
      expect(report.clean).toBe(true);
      expect(report.findings.length).toBeGreaterThan(0);
      for (const finding of report.findings) expect(finding.count, finding.problem).toBe(0);

      // The figures docs/operations.md reports for a soak run.
      process.stdout.write(
        `${JSON.stringify({
          soakSeconds: SOAK_SECONDS,
          callers: CALLERS,
          users: USERS,
          acknowledgedSends: acknowledged,
          stored,
          erasedMessages: ledger.erasedMessages,
          conversationsCreated: ledger.created,
          conversationsErased: ledger.erasedConversations,
          outcomes: Object.fromEntries([...ledger.outcomes].sort()),
          orphans: report.findings.reduce((sum, f) => sum + f.count, 0),
        })}\n`,
      );
    },
  );
});
