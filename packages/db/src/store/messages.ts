// Messages: written only into an existing conversation of the caller, read in keyset pages.
import type { EntityManager } from '@mikro-orm/postgresql';
import { Message, type IMessage } from '../entities/index.js';
import { getConversation, notFound, page, type Page } from './conversations.js';
import type { Identity } from './identity.js';

type Row = Record<string, unknown>;

/**
 * One guarded statement, one round trip: the insert happens only if the conversation exists and
 * belongs to the caller, and it holds the conversation's KEY SHARE lock until commit, so a
 * concurrent delete of the conversation either sees this message or makes this insert find nothing.
 */
/**
 * The send path's one statement (parameters: content, conversation id, username). Exported so the
 * benchmark's baselines run exactly this SQL.
 */
export const SEND_MESSAGE_SQL = `insert into messages (conversation_id, role, content)
select c.id, 'user', ? from conversations c
 where c.id = ? and c.user_id = (select id from users where username = ?)
 for key share of c
returning id, conversation_id, role, created_at`;

export async function sendMessage(
  em: EntityManager,
  identity: Identity,
  conversationId: number,
  content: string,
): Promise<IMessage> {
  const [row] = await em.execute<Row[]>(SEND_MESSAGE_SQL, [
    content,
    conversationId,
    identity.username,
  ]);
  if (!row) return notFound(em, identity);
  return em.map(Message, { ...row, content });
}

export interface HistoryQuery {
  conversationId: number;
  cursor: number | null;
  limit: number;
  order: 'asc' | 'desc';
}

export async function listHistory(
  em: EntityManager,
  identity: Identity,
  query: HistoryQuery,
): Promise<Page<IMessage>> {
  const { sql, params } = historyStatement(identity, query);
  const rows = await em.execute<Row[]>(sql, params);
  // Nothing back: an empty page of the caller's conversation, or not the caller's (or not there).
  if (rows.length === 0) await getConversation(em, identity, query.conversationId);
  return page(
    rows.map((row) => em.map(Message, row)),
    query.limit,
  );
}

/**
 * A page of a conversation's history by id, in one statement: the ownership check is a sub-select
 * evaluated once, and the page is a straight walk of the `(conversation_id, id)` index from the
 * cursor, already in order (no sort): the same cost at any depth. Ordering by both columns (the
 * first is fixed by the WHERE) names that index's order, so the planner cannot prefer walking the
 * primary key and filtering, which is slow when the conversation's newest rows are far from the
 * table's newest rows.
 */
export function historyStatement(
  identity: Identity,
  { conversationId, cursor, limit, order }: HistoryQuery,
): { sql: string; params: (string | number)[] } {
  const direction = order === 'asc' ? 'asc' : 'desc';
  const after = cursor === null ? '' : `and m.id ${order === 'asc' ? '>' : '<'} ?`;
  const owned = `(select c.id from conversations c
      where c.id = ? and c.user_id = (select u.id from users u where u.username = ?))`;
  return {
    sql: `select m.id, m.conversation_id, m.role, m.content, m.created_at
       from messages m
      where m.conversation_id = ${owned} ${after}
      order by m.conversation_id ${direction}, m.id ${direction}
      limit ?`,
    params:
      cursor === null
        ? [conversationId, identity.username, limit + 1]
        : [conversationId, identity.username, cursor, limit + 1],
  };
}
