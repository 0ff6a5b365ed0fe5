// Users: created just in time from a token's identity, race-free; erased with everything they own.
import type { EntityManager } from '@mikro-orm/postgresql';
import { User, type IUser } from '../entities/index.js';
import { ConflictError, NotFoundError, classifyDatabaseError } from './errors.js';
import type { Identity } from './identity.js';

type Row = Record<string, unknown>;

/**
 * The caller's row, created on first sight. Concurrent first calls of one identity create one
 * row: the loser of the insert race finds the winner's row. If the token's email already belongs to
 * another user, the row is created without it.
 */
export async function ensureUser(em: EntityManager, identity: Identity): Promise<IUser> {
  // Three rounds cover every interleaving: a concurrent first call wins the insert (we read its
  // row), the email is taken (we insert without it), or a concurrent user.delete removes the row
  // between our insert attempt and our read (we go round again).
  for (let round = 0; round < 3; round++) {
    const found = await findUser(em, identity.username);
    if (found) return found;
    for (const email of identity.email === null ? [null] : [identity.email, null]) {
      const [inserted] = await em.execute<Row[]>(
        'insert into users (username, email) values (?, ?) on conflict do nothing returning *',
        [identity.username, email],
      );
      if (inserted) return em.map(User, inserted);
      const raced = await findUser(em, identity.username);
      if (raced) return raced;
    }
  }
  throw new NotFoundError('user');
}

export async function findUser(em: EntityManager, username: string): Promise<IUser | null> {
  const [row] = await em.execute<Row[]>('select * from users where username = ?', [username]);
  return row ? em.map(User, row) : null;
}

export async function updateEmail(
  em: EntityManager,
  identity: Identity,
  email: string | null,
): Promise<IUser> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const [row] = await em.execute<Row[]>(
        'update users set email = ? where username = ? returning *',
        [email, identity.username],
      );
      if (row) return em.map(User, row);
    } catch (error) {
      if (classifyDatabaseError(error) === 'unique-violation') {
        throw new ConflictError('email', 'this email belongs to another user');
      }
      throw error;
    }
    await ensureUser(em, { ...identity, email: null }); // first call: create the row, then update it
  }
  throw new NotFoundError('user');
}

export interface UserDeletion {
  conversations: number;
  messages: number;
}

/**
 * Erases the caller, its conversations and their messages in one transaction. Parents are locked
 * before children are deleted, so a concurrent write either commits first (and is erased here) or
 * waits and then finds its parent gone. See docs/integrity.md.
 */
export async function deleteUser(em: EntityManager, username: string): Promise<UserDeletion> {
  return em.transactional(async (tx) => {
    const [user] = await tx.execute<{ id: number }[]>(
      'delete from users where username = ? returning id',
      [username],
    );
    if (!user) return { conversations: 0, messages: 0 };
    // Lock every conversation: in-flight sends into them finish first, later ones find them gone.
    // In id order, as coalesced sends take their locks: the two cannot deadlock.
    await tx.execute('select id from conversations where user_id = ? order by id for update', [
      user.id,
    ]);
    const messages = await tx.execute<{ affectedRows: number }>(
      'delete from messages where conversation_id in (select id from conversations where user_id = ?)',
      [user.id],
      'run',
    );
    const conversations = await tx.execute<{ affectedRows: number }>(
      'delete from conversations where user_id = ?',
      [user.id],
      'run',
    );
    return { conversations: conversations.affectedRows, messages: messages.affectedRows };
  });
}
