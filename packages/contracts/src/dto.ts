// What the api returns: plain JSON, timestamps as ISO-8601 strings in UTC.
import * as z from 'zod';
import { ID_MAX, MESSAGE_ROLES } from './limits.js';

export const idSchema = z.number().int().min(1).max(ID_MAX);
export const timestampSchema = z.iso.datetime();

export const userSchema = z.object({
  id: idSchema,
  username: z.string(),
  email: z.string().nullable(),
  createdAt: timestampSchema,
});

export const conversationSchema = z.object({
  id: idSchema,
  userId: idSchema,
  name: z.string().nullable(),
  createdAt: timestampSchema,
});

export const messageRoleSchema = z.enum(MESSAGE_ROLES);

export const messageSchema = z.object({
  id: idSchema,
  conversationId: idSchema,
  role: messageRoleSchema,
  content: z.string(),
  createdAt: timestampSchema,
});

export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: idSchema.nullable() });
}

export type User = z.infer<typeof userSchema>;
export type Conversation = z.infer<typeof conversationSchema>;
export type Message = z.infer<typeof messageSchema>;
export interface Page<T> {
  items: T[];
  nextCursor: number | null;
}

export const conversationPageSchema = pageSchema(conversationSchema);
export const messagePageSchema = pageSchema(messageSchema);

export const userDeleteResultSchema = z.object({
  conversations: z.number().int().min(0),
  messages: z.number().int().min(0),
});
export const conversationDeleteResultSchema = z.object({
  id: idSchema,
  deletedMessages: z.number().int().min(0),
});
export const userExportSchema = z.object({
  user: userSchema,
  conversations: z.array(conversationSchema.extend({ messages: z.array(messageSchema) })),
});

export type UserDeleteResult = z.infer<typeof userDeleteResultSchema>;
export type ConversationDeleteResult = z.infer<typeof conversationDeleteResultSchema>;
export type UserExport = z.infer<typeof userExportSchema>;

/** `error.data.zodError` of a BAD_REQUEST: what was wrong with the input, by field. */
export interface InputErrors {
  /** Problems with the input as a whole (malformed JSON, a wrong type at the top). */
  formErrors: string[];
  /** Problems by field name. */
  fieldErrors: Partial<Record<string, string[]>>;
}
