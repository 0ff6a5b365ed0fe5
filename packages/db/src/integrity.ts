// What the database will not check, checked: rows whose parent is gone, and how much of each
// 32-bit id sequence is used. `pnpm db:check` reports; `--repair` deletes orphans in batches.
import type { EntityManager } from '@mikro-orm/postgresql';
/** PostgreSQL's `integer`, the type of every id. */
const INTEGER_MAX = 2_147_483_647;

export interface Finding {
  /** What is broken, in words. */
  problem: string;
  count: number;
  /** Up to ten ids, smallest first. */
  sample: number[];
}

export interface SequenceUsage {
  table: 'users' | 'conversations' | 'messages';
  /** The last id handed out (0: none yet). */
  lastId: number;
  /** lastId / 2,147,483,647. */
  used: number;
}

export interface IntegrityReport {
  findings: Finding[];
  sequences: SequenceUsage[];
  /** True when no finding has a count. */
  clean: boolean;
}

const CHECKS = [
  {
    problem: 'messages whose conversation does not exist',
    from: 'messages m where not exists (select 1 from conversations c where c.id = m.conversation_id)',
    id: 'm.id',
  },
  {
    problem: 'conversations whose user does not exist',
    from: 'conversations c where not exists (select 1 from users u where u.id = c.user_id)',
    id: 'c.id',
  },
] as const;

export async function checkIntegrity(em: EntityManager): Promise<IntegrityReport> {
  const findings: Finding[] = [];
  for (const check of CHECKS) {
    const [row] = await em.execute<{ count: string; sample: number[] | null }[]>(
      `select count(*) as count, (array_agg(${check.id} order by ${check.id}))[1:10] as sample from ${check.from}`,
    );
    findings.push({
      problem: check.problem,
      count: Number(row?.count ?? 0),
      sample: row?.sample ?? [],
    });
  }
  const sequences = await sequenceUsage(em);
  return { findings, sequences, clean: findings.every((finding) => finding.count === 0) };
}

export async function sequenceUsage(em: EntityManager): Promise<SequenceUsage[]> {
  const rows = await em.execute<{ table: SequenceUsage['table']; last: string | null }[]>(
    `select 'users' as "table", (select case when is_called then last_value else 0 end from users_id_seq) as last
     union all select 'conversations', (select case when is_called then last_value else 0 end from conversations_id_seq)
     union all select 'messages', (select case when is_called then last_value else 0 end from messages_id_seq)`,
  );
  return rows.map((row) => {
    const lastId = Number(row.last ?? 0);
    return { table: row.table, lastId, used: lastId / INTEGER_MAX };
  });
}

export interface Repair {
  messages: number;
  conversations: number;
}

/**
 * Deletes orphans in batches of `batchSize` (each its own statement and commit): first the
 * conversations whose user is gone, with their messages, then messages whose conversation is gone.
 * Safe while the api runs: the api never writes a child under a missing parent, so nothing it does
 * can race with these deletes into a new orphan.
 */
export async function repairOrphans(
  em: EntityManager,
  {
    batchSize = 1_000,
    onProgress,
  }: { batchSize?: number; onProgress?: (repair: Repair) => void } = {},
): Promise<Repair> {
  const repaired: Repair = { messages: 0, conversations: 0 };
  for (;;) {
    const conversations = await em.execute<{ id: number }[]>(
      `select c.id from conversations c
        where not exists (select 1 from users u where u.id = c.user_id)
        order by c.id limit ?`,
      [batchSize],
    );
    if (conversations.length === 0) break;
    const ids = conversations.map((row) => row.id);
    await em.transactional(async (tx) => {
      const list = ids.join(',');
      const messages = await tx.execute<{ affectedRows: number }>(
        `delete from messages where conversation_id in (${list})`,
        [],
        'run',
      );
      const deleted = await tx.execute<{ affectedRows: number }>(
        `delete from conversations where id in (${list})`,
        [],
        'run',
      );
      repaired.messages += messages.affectedRows;
      repaired.conversations += deleted.affectedRows;
    });
    onProgress?.(repaired);
  }
  for (;;) {
    const deleted = await em.execute<{ affectedRows: number }>(
      `delete from messages where id in (
         select m.id from messages m
          where not exists (select 1 from conversations c where c.id = m.conversation_id)
          order by m.id limit ?)`,
      [batchSize],
      'run',
    );
    if (deleted.affectedRows === 0) break;
    repaired.messages += deleted.affectedRows;
    onProgress?.(repaired);
  }
  return repaired;
}
