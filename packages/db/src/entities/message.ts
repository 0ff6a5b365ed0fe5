import { defineEntity, type InferEntity } from '@mikro-orm/core';

export const MESSAGE_ROLES = ['user', 'assistant'] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];

/** `messages`: the chat log, the largest table (no FK: the conversation is checked in code). */
export const Message = defineEntity({
  name: 'Message',
  tableName: 'messages',
  properties: (p) => ({
    id: p.integer().primary().autoincrement(),
    conversationId: p.integer(),
    role: p.enum([...MESSAGE_ROLES]),
    content: p.text(),
    createdAt: p.datetime().defaultRaw('now()'),
  }),
  // Serves a conversation's history by id in either direction, and every lookup by conversation_id.
  indexes: [{ name: 'messages_conversation_id_id_index', properties: ['conversationId', 'id'] }],
});

export type IMessage = InferEntity<typeof Message>;
