import { defineEntity, type InferEntity } from '@mikro-orm/core';

/** `conversations`: a chat container owned by one user (no FK: the owner is checked in code). */
export const Conversation = defineEntity({
  name: 'Conversation',
  tableName: 'conversations',
  properties: (p) => ({
    id: p.integer().primary().autoincrement(),
    userId: p.integer(),
    name: p.text().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  }),
  // Serves "this user's conversations, newest first" and every lookup by user_id.
  indexes: [{ name: 'conversations_user_id_id_index', properties: ['userId', 'id'] }],
});

export type IConversation = InferEntity<typeof Conversation>;
