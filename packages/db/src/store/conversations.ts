// Conversations, always scoped to their owner: another user's conversation is a missing one.
import type { EntityManager } from '@mikro-orm/postgresql';
import { Conversation, type IConversation } from '../entities/index.js';
import { NotFoundError } from './errors.js';
import type { Identity } from './identity.js';
import { ensureUser } from './users.js';

type Row = Record<string, unknown>;

/** The owner's id, looked up inside each statement: one round trip, never a stale id. */
const OWNER = '(select id from users where username = ?)';

export interface Page<T> {
  items: T[];
  nextCursor: number | null;
}

/** A page's statement, for running and for EXPLAIN (the plan tests, the benchmark). */
export interface PageStatement {
  sql: string;
  params: (string | number)[];
}

export async function createConversation(
  em: EntityManager,
  identity: Identity,
  name: string | null,
): Promise<IConversation> {
  for (let attempt = 0; attempt < 3; attempt++) {
    // KEY SHARE on the owner's row: a concurrent user.delete either waits for this insert (and then
    // erases it) or has already removed the row (and this inserts nothing).
    const [row] = await em.execute<Row[]>(
      `insert into conversations (user_id, name)
       select u.id, ? from users u where u.username = ? for key share of u
       returning *`,
      [name, identity.username],
    );
    if (row) return em.map(Conversation, row);
    await ensureUser(em, identity);
  }
  throw new NotFoundError('user');
}

export async function getConversation(
  em: EntityManager,
  identity: Identity,
  id: number,
): Promise<IConversation> {
  const [row] = await em.execute<Row[]>(
    `select * from conversations where id = ? and user_id = ${OWNER}`,
    [id, identity.username],
  );
  if (!row) return notFound(em, identity);
  return em.map(Conversation, row);
}

export async function listConversations(
  em: EntityManager,
  identity: Identity,
  query: ConversationPageQuery,
): Promise<Page<IConversation>> {
  const { sql, params } = conversationPageStatement(identity, query);
  const rows = await em.execute<Row[]>(sql, params);
  if (rows.length === 0) await ensureUser(em, identity); // perhaps a first call: make its row
  return page(
    rows.map((row) => em.map(Conversation, row)),
    query.limit,
  );
}

export interface ConversationPageQuery {
  cursor: number | null;
  limit: number;
}

/**
 * A page of the caller's conversations, newest first, walking the `(user_id, id)` index from the
 * cursor. The owner is matched as a range so that only that index gives the order, and the cursor
 * is a row comparison that starts the walk (see historyStatement).
 */
export function conversationPageStatement(
  identity: Identity,
  { cursor, limit }: ConversationPageQuery,
): PageStatement {
  const near = cursor === null ? `user_id <= ${OWNER}` : `(user_id, id) < (${OWNER}, ?)`;
  return {
    sql: `select * from conversations
      where user_id >= ${OWNER} and ${near}
      order by user_id desc, id desc limit ?`,
    params: [identity.username, identity.username, ...(cursor === null ? [] : [cursor]), limit + 1],
  };
}

export async function renameConversation(
  em: EntityManager,
  identity: Identity,
  id: number,
  name: string | null,
): Promise<IConversation> {
  const [row] = await em.execute<Row[]>(
    `update conversations set name = ? where id = ? and user_id = ${OWNER} returning *`,
    [name, id, identity.username],
  );
  if (!row) return notFound(em, identity);
  return em.map(Conversation, row);
}

/**
 * Deletes the conversation, then its messages, in one transaction. Deleting the row first waits for
 * sends holding its KEY SHARE lock; the message delete, a later statement, sees them; sends that
 * come after find the row gone. See docs/integrity.md.
 */
export async function deleteConversation(
  em: EntityManager,
  identity: Identity,
  id: number,
): Promise<{ id: number; deletedMessages: number }> {
  const deleted = await em.transactional(async (tx) => {
    const [row] = await tx.execute<{ id: number }[]>(
      `delete from conversations where id = ? and user_id = ${OWNER} returning id`,
      [id, identity.username],
    );
    if (!row) return null;
    const messages = await tx.execute<{ affectedRows: number }>(
      'delete from messages where conversation_id = ?',
      [id],
      'run',
    );
    return { id, deletedMessages: messages.affectedRows };
  });
  return deleted ?? notFound(em, identity);
}

/** The end of every "not yours or not there" path: a first call still gets its user row. */
export async function notFound(em: EntityManager, identity: Identity): Promise<never> {
  await ensureUser(em, identity);
  throw new NotFoundError('conversation');
}

/** Rows fetched with `limit + 1`: the extra row only says that more follow. */
export function page<T extends { id: number }>(rows: T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? last.id : null };
}
