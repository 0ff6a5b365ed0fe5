import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkIntegrity, repairOrphans, sequenceUsage } from './integrity.js';
import { createOrm, forkEntityManager, type ChatOrm } from './orm.js';
import { useTestDatabase } from './testing/index.js';

const db = useTestDatabase();
let orm: ChatOrm;

beforeAll(async () => {
  orm = await createOrm({ url: db.url, pool: { max: 2 } });
});
afterAll(async () => {
  await orm.close();
});

describe('integrity checks', () => {
  it('find orphans with counts and sample ids, and repair them in batches', async () => {
    const em = forkEntityManager(orm);
    expect((await checkIntegrity(em)).clean).toBe(true);
    // What the database would allow and the api never writes: children under missing parents.
    await em.execute("insert into users (id, username) values (1, 'kept')");
    await em.execute(
      'insert into conversations (id, user_id) values (10, 1), (11, 999), (12, 999)',
    );
    await em.execute(
      `insert into messages (conversation_id, role, content)
       select c, 'user', 'x' from (values (10), (11), (11), (12), (500), (500), (501)) v(c)`,
    );
    const report = await checkIntegrity(em);
    expect(report.clean).toBe(false);
    expect(report.findings.map((f) => [f.problem, f.count, f.sample.length])).toEqual([
      ['messages whose conversation does not exist', 3, 3],
      ['conversations whose user does not exist', 2, 2],
    ]);
    expect(report.findings[1]?.sample).toEqual([11, 12]);

    const repaired = await repairOrphans(em, { batchSize: 1 });
    expect(repaired).toEqual({ conversations: 2, messages: 6 });
    const after = await checkIntegrity(em);
    expect(after.clean).toBe(true);
    const [kept] = await em.execute<{ n: number }[]>(
      'select count(*)::int as n from messages where conversation_id = 10',
    );
    expect(kept?.n).toBe(1);
  });

  it('report how much of each 32-bit id sequence is used', async () => {
    const em = forkEntityManager(orm);
    await em.execute("select setval('messages_id_seq', 1932735282)"); // 90% of 2^31 - 1
    const usage = await sequenceUsage(em);
    const messages = usage.find((u) => u.table === 'messages');
    expect(messages?.used).toBeCloseTo(0.9, 5);
    expect(usage.map((u) => u.table)).toEqual(['users', 'conversations', 'messages']);
  });
});
