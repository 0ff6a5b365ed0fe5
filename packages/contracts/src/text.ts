// Strings PostgreSQL can store exactly as sent: no NUL (text cannot hold it) and no lone UTF-16
// surrogate (it cannot be encoded as UTF-8, so it would come back as U+FFFD).
import * as z from 'zod';

/** Counts characters as people do (code points), not UTF-16 units. */
export function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function storableText(): z.ZodString {
  return z
    .string()
    .refine((text) => !text.includes('\u0000'), {
      error: 'must not contain the NUL character (\\u0000)',
    })
    .refine((text) => !LONE_SURROGATE.test(text), {
      error: 'must be well-formed Unicode (no lone surrogates)',
    });
}

/**
 * Storable text of `min..max` characters, counted after trimming when `trimmed` is set (then
 * `rawMax` bounds the text as sent); the value itself is never changed.
 */
export function boundedText(
  min: number,
  max: number,
  { trimmed = false, rawMax = Infinity } = {},
): z.ZodString {
  return storableText().superRefine((text, ctx) => {
    if (text.length > rawMax * 2 || characterCount(text) > rawMax) {
      ctx.addIssue({
        code: 'too_big',
        origin: 'string',
        maximum: rawMax,
        inclusive: true,
        input: text,
        message: `must have at most ${rawMax} characters as sent`,
      });
      return;
    }
    const length = characterCount(trimmed ? text.trim() : text);
    const what = trimmed ? 'characters after trimming' : 'characters';
    if (length < min)
      ctx.addIssue({
        code: 'too_small',
        origin: 'string',
        minimum: min,
        inclusive: true,
        input: text,
        message: `must have at least ${min} ${what}`,
      });
    if (length > max)
      ctx.addIssue({
        code: 'too_big',
        origin: 'string',
        maximum: max,
        inclusive: true,
        input: text,
        message: `must have at most ${max} ${what}`,
      });
  });
}
