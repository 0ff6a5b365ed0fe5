// Hostile inputs for http-fuzz.test.ts: JSON texts of every kind (many spelt as JSON.stringify
// never writes them), generated inputs around a procedure's fields, and odd procedure paths.
import fc from 'fast-check';

/** Zeros, the 32-bit and double limits, beyond them, and other spellings of 1. */
// prettier-ignore
export const NUMBER_TEXTS = [
  '-0', '0', '0.0', '-0.0', '1', '1.0', '1e0', '1E+0', '10e-1', '0.1e1', '2', '20', '50', '100', '101', '200',
  '201', '-1', '0.5', '1.5', '2147483646', '2147483647', '2147483647.0', '2147483648', '-2147483648',
  '-2147483649', '4294967296', '9007199254740991', '9007199254740992', '9007199254740993', '1e21', '1e308',
  '-1e308', '1.7976931348623157e308', '1e309', '-1e400', '1e-308', '5e-324', '1e-400',
  '123456789012345678901234567890',
];

/** String literals: empty, numbers and keywords as text, every escape, NUL, lone surrogates, emoji. */
// prettier-ignore
export const STRING_TEXTS = [
  '""', '" "', '"\\t\\n\\r"', '"1"', '"0x1"', '"1e3"', '"true"', '"null"', '"[]"', '"{}"', '"asc"', '"desc"',
  '"DESC"', '"\\u0061sc"', '"d\\u0065sc"', '"\\/"', '"\\b\\f"', '"\\"\\\\"', '"\\u0000"', '"a\\u0000b"',
  '"\\ud800"', '"\\uDBFF"', '"\\udc00\\ud800"', '"\\ud83d\\ude00"', '"\\uD83D\\uDE00"', '"😀"', '"👨‍👩‍👧‍👦"',
  '"\\ufeff"', '"\\u200b"', '"\\u202e"', '"e\\u0301"', '"\\u2028\\u2029"', '"\\uffff"', '"a@b.co"', '"A@B.CO"',
  '"not an email"', `"${'n'.repeat(200)}"`, `"${'n'.repeat(201)}"`, `" ${'n'.repeat(200)} "`,
];

/** Booleans, null, arrays and objects. */
// prettier-ignore
export const OTHER_TEXTS = [
  'true', 'false', 'null', '[]', '[1]', '[null]', '[[]]', '{}', '{"a":1}', '{"id":1}', '[{"id":1}]',
];

export const VALUE_TEXTS = [...NUMBER_TEXTS, ...STRING_TEXTS, ...OTHER_TEXTS];

/** Keys that are no field of any input: prototype keys, near misses, a key spelt with an escape. */
// prettier-ignore
export const EXTRA_KEYS = [
  '"__proto__"', '"constructor"', '"prototype"', '"toString"', '""', '"ID"', '" id"', '"extra"', '"\\u0000"',
];

/** Every code unit of `text` as a \uXXXX escape: the same string, spelt differently. */
function escaped(text: string): string {
  const units = Array.from({ length: text.length }, (_, i) => text.charCodeAt(i));
  return `"${units.map((unit) => `\\u${unit.toString(16).padStart(4, '0')}`).join('')}"`;
}

/** A JSON text of any kind, nested a little. */
export const valueText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    fc.constantFrom(...VALUE_TEXTS),
    fc.integer().map(String),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
    fc.string({ unit: 'binary', maxLength: 20 }).map((s) => JSON.stringify(s)),
    fc.string({ unit: 'binary', maxLength: 8 }).map(escaped),
    fc.array(tie('value'), { maxLength: 3 }).map((items) => `[${items.join(',')}]`),
    fc
      .array(fc.tuple(fc.constantFrom(...EXTRA_KEYS, '"a"'), tie('value')), { maxLength: 3 })
      .map((entries) => `{${entries.map(([k, v]) => `${k}:${v}`).join(',')}}`),
  ),
})).value;

/** Whitespace between tokens: JSON's four kinds, and now and then one JSON does not allow. */
const gap = fc.oneof(
  { weight: 12, arbitrary: fc.stringMatching(/^[ \t\n\r]{0,2}$/) },
  { weight: 1, arbitrary: fc.constantFrom('\u00a0', '\v', '\f', '\u2028', '\ufeff') },
);

/**
 * An input around a procedure's valid one (`base`: raw JSON per field): fields replaced by any
 * value, dropped, repeated (JSON.parse keeps the last) or spelt with escapes, extra keys, odd
 * whitespace; or any JSON text in place of the whole input; or no input at all ('').
 */
export function inputText(base: Record<string, string>): fc.Arbitrary<string> {
  const fields = Object.keys(base);
  const key = fields.length === 0 ? fc.constantFrom(...EXTRA_KEYS) : fc.constantFrom(...fields);
  const edit = fc.oneof(
    fc.tuple(fc.constant('set' as const), key, valueText),
    fc.tuple(fc.constant('drop' as const), key, fc.constant('')),
    fc.tuple(fc.constant('escape' as const), key, fc.constant('')),
    fc.tuple(fc.constant('repeat' as const), key, valueText),
    fc.tuple(fc.constant('extra' as const), fc.constantFrom(...EXTRA_KEYS), valueText),
  );
  const object = fc
    .tuple(fc.array(edit, { maxLength: 3 }), fc.array(gap, { minLength: 8, maxLength: 8 }))
    .map(([edits, gaps]) => {
      let entries = Object.entries(base).map(([k, v]) => [JSON.stringify(k), v] as const);
      for (const [kind, name, value] of edits) {
        const quoted = name.startsWith('"') ? name : JSON.stringify(name);
        if (kind === 'set') entries = entries.map(([k, v]) => [k, k === quoted ? value : v]);
        if (kind === 'drop') entries = entries.filter(([k]) => k !== quoted);
        if (kind === 'escape')
          entries = entries.map(([k, v]) => [k === quoted ? escaped(name) : k, v]);
        if (kind === 'repeat' || kind === 'extra') entries = [...entries, [quoted, value]];
      }
      const at = (i: number) => gaps[i % gaps.length] ?? '';
      const body = entries.map(([k, v], i) => `${at(i)}${k}${at(i + 1)}:${at(i + 2)}${v}`);
      return `{${body.join(',')}${at(7)}}`;
    });
  return fc.oneof(
    { weight: 6, arbitrary: object },
    { weight: 2, arbitrary: valueText },
    { weight: 1, arbitrary: fc.constantFrom('', ' ', '\ufeff', '{', '{"a":1,}', "{'a':1}", 'NaN') },
  );
}

/**
 * Procedure paths that name nothing: empty, dot-dot, prototype names, near misses, NUL, unicode,
 * separators, as URL text (already percent-encoded where needed). Each is NOT_FOUND.
 */
// prettier-ignore
export const UNKNOWN_PATHS = [
  '', '..', '%2e%2e', '%2E%2E', '..%2F..%2Fhealthz', '%2e%2e%2fhealthz', '__proto__', 'constructor', 'toString',
  'hasOwnProperty', 'valueOf', '__proto__.toString', 'constructor.prototype', 'message.__proto__',
  'message.constructor', 'user.me.__proto__', 'message.send.extra', 'message..send', '.message.send',
  'message.send.', 'user', 'message', '_def', 'user._def', '_def.procedures', 'createCaller', '$types',
  'getErrorShape', '%00', 'user.me%00', '%C3%BCser.me', 'user.%E2%80%8Bme', '%F0%9F%98%80', 'USER.ME',
  'user.me;x', 'user.me%2Cuser.me', '%2F', 'user%2Fme', 'a'.repeat(4_000),
  Array.from({ length: 1_200 }, () => 'a').join('.'),
];
