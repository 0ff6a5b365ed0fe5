import { describe, expect, it } from 'vitest';
import { boundedText, characterCount, storableText } from './text.js';

describe('storable text', () => {
  it('refuses what PostgreSQL would not store as sent', () => {
    const schema = storableText();
    expect(schema.safeParse('a\u0000b').success).toBe(false);
    expect(schema.safeParse('lone \ud800 surrogate').success).toBe(false);
    expect(schema.safeParse('emoji 😀, accents é, CJK 漢字').success).toBe(true);
  });

  it('counts code points, not UTF-16 units', () => {
    expect(characterCount('😀😀')).toBe(2);
    expect(boundedText(1, 2).safeParse('😀😀').success).toBe(true);
    expect(boundedText(1, 2).safeParse('😀😀😀').success).toBe(false);
  });

  it('measures after trimming when asked, and never changes the value', () => {
    const name = boundedText(1, 3, { trimmed: true });
    expect(name.safeParse('   ').success).toBe(false);
    expect(name.parse('  abc  ')).toBe('  abc  ');
    expect(name.safeParse(' abcd ').success).toBe(false);
  });
});
