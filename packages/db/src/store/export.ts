// Everything a user owns, read from one snapshot.
import type { EntityManager } from '@mikro-orm/postgresql';
import { IsolationLevel } from '@mikro-orm/core';
import {
  Conversation,
  Message,
  type IConversation,
  type IMessage,
  type IUser,
} from '../entities/index.js';
import type { Identity } from './identity.js';
import { ensureUser } from './users.js';

type Row = Record<string, unknown>;

export interface UserExport {
  user: IUser;
  conversations: (IConversation & { messages: IMessage[] })[];
}

export async function exportUser(em: EntityManager, identity: Identity): Promise<UserExport> {
  const user = await ensureUser(em, identity);
  return em.transactional(
    async (tx) => {
      const conversations = (
        await tx.execute<Row[]>('select * from conversations where user_id = ? order by id', [
          user.id,
        ])
      ).map((row) => ({ ...tx.map(Conversation, row), messages: [] as IMessage[] }));
      const byId = new Map(conversations.map((c) => [c.id, c]));
      const messages = await tx.execute<Row[]>(
        `select m.* from messages m
          where m.conversation_id in (select id from conversations where user_id = ?)
          order by m.conversation_id, m.id`,
        [user.id],
      );
      for (const row of messages) {
        const message = tx.map(Message, row);
        byId.get(message.conversationId)?.messages.push(message);
      }
      return { user, conversations };
    },
    { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true },
  );
}
