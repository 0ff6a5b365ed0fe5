// Procedure inputs: the server validates with these, and a frontend can validate a form with the
// same rules. Objects are strict: a misspelt field is an error, never silently dropped.
import * as z from 'zod';
import { idSchema } from './dto.js';
import {
  CONVERSATION_PAGE,
  DEFAULT_MAX_MESSAGE_CHARS,
  MESSAGE_PAGE,
  NAME_MAX_CHARS,
  NAME_MAX_RAW_CHARS,
} from './limits.js';
import { boundedText, storableText } from './text.js';

export const EMAIL_MAX_CHARS = 254;

export const conversationNameSchema = boundedText(1, NAME_MAX_CHARS, {
  trimmed: true,
  rawMax: NAME_MAX_RAW_CHARS,
}).nullable();
export const emailSchema = storableText().max(EMAIL_MAX_CHARS).pipe(z.email()).nullable();
export const cursorSchema = idSchema.nullish();

function limitSchema(page: { default: number; max: number }) {
  return z.number().int().min(1).max(page.max).default(page.default);
}

/** Procedures without input accept none, or JSON's `null` (what non-TypeScript callers send). */
export const noInput = z.null().optional();

export const userUpdateInput = z.strictObject({ email: emailSchema });

/** Optional as a whole: absent or `null` means `{}`. */
export const conversationCreateInput = z
  .strictObject({ name: conversationNameSchema.optional() })
  .nullish();
export const conversationListInput = z
  .strictObject({ cursor: cursorSchema, limit: limitSchema(CONVERSATION_PAGE) })
  .nullish();
export const conversationIdInput = z.strictObject({ id: idSchema });
export const conversationRenameInput = z.strictObject({
  id: idSchema,
  name: conversationNameSchema,
});

/** `maxChars` is the server's MAX_MESSAGE_CHARS; the default matches the server's default. */
export function messageSendInputSchema(maxChars: number = DEFAULT_MAX_MESSAGE_CHARS) {
  return z.strictObject({ conversationId: idSchema, content: boundedText(1, maxChars) });
}
export const messageSendInput = messageSendInputSchema();
export const messageListInput = z.strictObject({
  conversationId: idSchema,
  cursor: cursorSchema,
  limit: limitSchema(MESSAGE_PAGE),
  order: z.enum(['asc', 'desc']).default('desc'),
});

export type UserUpdateInput = z.input<typeof userUpdateInput>;
export type ConversationCreateInput = z.input<typeof conversationCreateInput>;
export type ConversationListInput = z.input<typeof conversationListInput>;
export type ConversationRenameInput = z.input<typeof conversationRenameInput>;
export type MessageSendInput = z.input<typeof messageSendInput>;
export type MessageListInput = z.input<typeof messageListInput>;
