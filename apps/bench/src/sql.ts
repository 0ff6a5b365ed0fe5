// The send path's SQL, as the api runs it (`?` placeholders), rewritten for other clients.
import { SEND_MESSAGE_SQL } from '@chat/db';

/** `$1, $2, …` placeholders, for node-postgres. */
export function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** The send statement with pgbench variables: `:content`-free, the content inlined as a literal. */
export function pgbenchSendScript(users: number, content: string): string {
  const values = [`'${content.replace(/'/g, "''")}'`, ':n', `'bench-' || :n`];
  let i = 0;
  const sql = SEND_MESSAGE_SQL.replace(/\?/g, () => values[i++] ?? '?').replace(/\s+/g, ' ');
  return `\\set n random(1, ${users})\n${sql};\n`;
}

export const SEND_SQL_PG = numbered(SEND_MESSAGE_SQL);
