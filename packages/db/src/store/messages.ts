// Messages: written only into an existing conversation of the caller, read in keyset pages.
import type { EntityManager } from '@mikro-orm/postgresql';
import { Message, type IMessage } from '../entities/index.js';
import { getConversation, notFound, page, type Page, type PageStatement } from './conversations.js';
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
 * A page of a conversation's history by id, in one statement: the ownership check is an
 * uncorrelated EXISTS (evaluated once, gating the scan), and the page is a straight walk of the
 * `(conversation_id, id)` index from the cursor, already in order: the same cost at any depth.
 *
 * The conversation is matched as a range (`>= x and <= x`, or one end and the cursor) rather
 * than `= x`. With `=`, PostgreSQL treats the column as a constant and may walk the primary key
 * backwards, filtering for the conversation: fast while the conversation's rows are the table's
 * newest, slow (hundreds of ms, measured) once other conversations have written since. A range
 * keeps the column in the sort order, which only the composite index provides.
 */
export function historyStatement(
  identity: Identity,
  { conversationId, cursor, limit, order }: HistoryQuery,
): PageStatement {
  const asc = order === 'asc';
  const direction = asc ? 'asc' : 'desc';
  // The walk's far end is always the conversation's own bound. Its near end is the conversation's
  // other bound on the first page, and the cursor after that, as a row comparison on the index's
  // two columns: an index condition only the composite index can serve (a bare `id < ?` would
  // invite a walk of the primary key). The cursor replaces the conversation's bound rather than
  // joining it: given both, PostgreSQL 18 starts the walk at the conversation's end and filters
  // its way down to the cursor (a million rows for the oldest page, measured), where 15 starts at
  // the cursor.
  const farEnd = asc ? '<=' : '>=';
  const nearEnd = cursor === null ? (asc ? '>=' : '<=') : asc ? '>' : '<';
  const near =
    cursor === null
      ? `m.conversation_id ${nearEnd} ?`
      : `(m.conversation_id, m.id) ${nearEnd} (?, ?)`;
  return {
    sql: `select m.id, m.conversation_id, m.role, m.content, m.created_at
       from messages m
      where m.conversation_id ${farEnd} ? and ${near}
        and exists (select 1 from conversations c
                     where c.id = ? and c.user_id = (select u.id from users u where u.username = ?))
      order by m.conversation_id ${direction}, m.id ${direction}
      limit ?`,
    params: [
      conversationId,
      ...(cursor === null ? [conversationId] : [conversationId, cursor]),
      conversationId,
      identity.username,
      limit + 1,
    ],
  };
}
