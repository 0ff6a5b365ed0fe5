// Property-based tests of the procedures' inputs against the real HTTP server: no input is ever a
// 500, valid text is stored exactly as sent, invalid text and ids are refused and store nothing.
// fast-check prints the seed and path of any failure; rerun one with `fc.assert(..., { seed, path })`.
import {
  DEFAULT_MAX_MESSAGE_CHARS,
  EMAIL_MAX_CHARS,
  ID_MAX,
  NAME_MAX_CHARS,
  characterCount,
  conversationDeleteResultSchema,
  conversationPageSchema,
  conversationSchema,
  emailSchema,
  messagePageSchema,
  messageSchema,
  userDeleteResultSchema,
  userExportSchema,
  userSchema,
} from '@chat/contracts';
import { useTestDatabase } from '@chat/db/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  clientFor,
  rawCall,
  startServer,
  tokenFor,
  type RunningServer,
  type TestClient,
} from './server-harness.js';

const db = useTestDatabase();
let server: RunningServer;

/** The server runs with the default content limit; the generators are built around it. */
const MAX_CHARS = DEFAULT_MAX_MESSAGE_CHARS;
/** Runs per property: the whole file takes about 15 s on 2 cores (the fuzzing runs once per procedure). */
const RUNS = { roundTrip: 100, invalid: 60, badIds: 300, notFound: 200, fuzz: 200 } as const;
/** Node's default HTTP header limit is 16 KiB: a query's input travels in the URL. */
const MAX_QUERY_URL_CHARS = 14_000;

// ---------------------------------------------------------------------------------------------
// Wire helpers

type Kind = 'query' | 'mutation';
type Response = Awaited<ReturnType<typeof rawCall>>;

/** One call over raw HTTP: a query as GET ?input=<urlencoded JSON>, a mutation as a POST body. */
function call(
  path: string,
  kind: Kind,
  input: string | undefined,
  token: string,
): Promise<Response> {
  return kind === 'query'
    ? rawCall(server, path, {
        token,
        query: input === undefined ? '' : `?input=${encodeURIComponent(input)}`,
      })
    : rawCall(server, path, { token, method: 'POST', body: input ?? '' });
}

const STATUS_OF_CODE = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  METHOD_NOT_SUPPORTED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  TOO_MANY_REQUESTS: 429,
} as const;

/** A tRPC error whose code is one of the contract's codes for a client error. */
const contractError = z.object({
  error: z.object({
    message: z.string(),
    code: z.number().int(),
    data: z.object({
      code: z.enum([
        'BAD_REQUEST',
        'UNAUTHORIZED',
        'NOT_FOUND',
        'METHOD_NOT_SUPPORTED',
        'CONFLICT',
        'PAYLOAD_TOO_LARGE',
        'TOO_MANY_REQUESTS',
      ]),
      httpStatus: z.number().int(),
      path: z.string().optional(),
      zodError: z
        .object({
          formErrors: z.array(z.string()),
          fieldErrors: z.record(z.string(), z.array(z.string()).optional()),
        })
        .nullable(),
    }),
  }),
});
type ContractError = z.infer<typeof contractError>['error'];

function describeCall(path: string, input: string | undefined, response: Response): string {
  const shown =
    input === undefined
      ? '(no input)'
      : input.length > 300
        ? `${input.slice(0, 300)}… (${input.length} chars)`
        : input;
  return `${path} ${shown} → ${response.status} ${JSON.stringify(response.body).slice(0, 500)}`;
}

/** Asserts the response is a tRPC error with a contract code and a matching status; returns it. */
function expectContractError(response: Response, label: string): ContractError {
  expect(response.status, label).toBeGreaterThanOrEqual(400);
  expect(response.status, label).toBeLessThan(500);
  const parsed = contractError.safeParse(response.body);
  if (!parsed.success) expect.fail(`not a tRPC error with a contract code: ${label}`);
  const { error } = parsed.data;
  expect(error.data.httpStatus, label).toBe(response.status);
  expect(STATUS_OF_CODE[error.data.code], label).toBe(response.status);
  // Validation failures carry the flattened zod issues.
  if (error.data.code === 'BAD_REQUEST') expect(error.data.zodError, label).not.toBeNull();
  return error;
}

/** Asserts a BAD_REQUEST whose zod field errors name `field`. */
function expectFieldError(response: Response, field: string, label: string): void {
  const error = expectContractError(response, label);
  expect(error.data.code, label).toBe('BAD_REQUEST');
  expect(error.data.zodError?.fieldErrors[field]?.length ?? 0, label).toBeGreaterThan(0);
}

function expectCode(response: Response, code: keyof typeof STATUS_OF_CODE, label: string): void {
  expect(expectContractError(response, label).data.code, label).toBe(code);
}

const successEnvelope = z.object({ result: z.object({ data: z.unknown() }) });

async function sql<T>(query: string, params: unknown[] = []): Promise<T[]> {
  const rows: unknown = await server.orm.em.fork().getConnection().execute(query, params);
  return rows as T[];
}

async function count(query: string, params: unknown[] = []): Promise<number> {
  const [row] = await sql<{ n: number }>(query, params);
  return row?.n ?? -1;
}

// ---------------------------------------------------------------------------------------------
// Generators

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What the contract can store: no NUL, no lone surrogate. */
function storable(text: string): boolean {
  return !text.includes('\u0000') && !LONE_SURROGATE.test(text);
}

function between(n: number, min: number, max: number): boolean {
  return n >= min && n <= max;
}

// prettier-ignore
const NUMBER_LITERALS = [
  '-0', '0', '0.0', '-0.0', '1', '-1', '0.5', '1.5', '-1.5', '1.0', '1e0', '1E2', '1e+2', '0.1e1', '100000e-5',
  '1e308', '-1e308', '1.7976931348623157e308', '1e400', '-1e400', '1e-400', '5e-324', '2147483646', '2147483647',
  '2147483648', '-2147483648', '-2147483649', '4294967295', '4294967296', '9007199254740991', '9007199254740992',
  '9007199254740993', '1e21', '123456789012345678901234567890', '2147483647.0000000001',
];

/** Raw JSON number literals, including ones JSON.stringify never writes (1e400, -0, 1E2). */
const numberText = fc.oneof(
  fc.constantFrom(...NUMBER_LITERALS),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc
    .tuple(fc.integer({ min: -99, max: 99 }), fc.integer({ min: -999, max: 999 }))
    .map(([m, e]) => `${m}e${e}`),
);

// prettier-ignore
const SPECIAL_STRINGS = [
  '', ' ', '   ', '\t\n\r', '\u0000', 'a\u0000', '\u0000\u0000', '\ud800', '\udbff', '\udc00', 'a\udfffb', '\udc00\ud800',
  '😀', '👩🏽‍💻', '👨‍👩‍👧‍👦', '🇺🇳', '\u202eevil\u202c', '\u200f', 'שלום', 'مرحبا بالعالم', '\u200b', '\u200c\u200d', '\u2060',
  '\ufeff', '\u00a0', '\u3000', '\u2028\u2029', 'e\u0301', 'Z\u0324\u0354\u0367\u0311a\u0308l\u036e\u01eb', '\uffff', '\u{10ffff}',
  '1', '0', '-1', '1.5', 'null', 'true', '{}', '[]', 'asc', 'desc', 'ASC', 'user', 'assistant',
  'fuzz@example.invalid', "' or 1=1 --", '"; drop table messages; --', '\\', '%00', '${x}', '<script>', '\u0007\u001b[31m',
];

/** Strings of `limit - 2 .. limit + 2` repeated units (so code points, UTF-16 units and bytes differ). */
function nearLimitString(limits: readonly number[]): fc.Arbitrary<string> {
  return fc
    .tuple(
      fc.constantFrom(...limits),
      fc.integer({ min: -2, max: 2 }),
      fc.constantFrom('a', 'é', '😀', '\u200b', ' ', '\u0000', '\ud800', '👨‍👩‍👧‍👦'),
      fc.constantFrom('', ' ', '\n\u3000'),
    )
    .map(([limit, delta, unit, pad]) => pad + unit.repeat(Math.max(0, limit + delta)) + pad);
}

function stringText(limits: readonly number[]): fc.Arbitrary<string> {
  return fc
    .oneof(
      fc.constantFrom(...SPECIAL_STRINGS),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.string({
        unit: fc.constantFrom(...SPECIAL_STRINGS.filter((s) => s !== '')),
        maxLength: 8,
      }),
      // Raw UTF-16 surrogate units: sometimes pairs, often lone.
      fc.string({
        unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((u) => String.fromCharCode(u)),
        maxLength: 4,
      }),
      nearLimitString(limits),
      nearLimitString(limits),
    )
    .map((s) => JSON.stringify(s));
}

function objectText(key: fc.Arbitrary<string>, value: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .array(fc.tuple(key, value), { maxLength: 4 })
    .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`);
}

// prettier-ignore
const EXTRA_KEYS = [
  'extra', '__proto__', 'constructor', 'prototype', 'toString', '', 'ID', ' id', 'conversationid',
];

/** Arbitrary JSON text: numbers written raw, evil strings, arrays and nested objects. */
function jsonText(keys: readonly string[], limits: readonly number[]): fc.Arbitrary<string> {
  const key = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...keys, ...EXTRA_KEYS) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }) },
  );
  const tree = fc.letrec<{ value: string }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth: 3 },
      numberText,
      stringText(limits),
      fc.constantFrom('null', 'true', 'false', '[]', '{}'),
      fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
      fc.array(tie('value'), { maxLength: 3 }).map((items) => `[${items.join(',')}]`),
      objectText(key, tie('value')),
    ),
  }));
  return tree.value;
}

interface Procedure {
  path: string;
  kind: Kind;
  keys: readonly string[];
  output: z.ZodType;
  /** A valid input (raw JSON per key) for the fuzzing user's own conversation. */
  base: (conversationId: number) => Record<string, string>;
}

const PROCEDURES: readonly Procedure[] = [
  {
    path: 'message.send',
    kind: 'mutation',
    keys: ['conversationId', 'content'],
    output: messageSchema,
    base: (id) => ({ conversationId: String(id), content: '"hello"' }),
  },
  {
    path: 'message.list',
    kind: 'query',
    keys: ['conversationId', 'cursor', 'limit', 'order'],
    output: messagePageSchema,
    base: (id) => ({ conversationId: String(id) }),
  },
  {
    path: 'conversation.create',
    kind: 'mutation',
    keys: ['name'],
    output: conversationSchema,
    base: () => ({}),
  },
  {
    path: 'conversation.list',
    kind: 'query',
    keys: ['cursor', 'limit'],
    output: conversationPageSchema,
    base: () => ({}),
  },
  {
    path: 'conversation.get',
    kind: 'query',
    keys: ['id'],
    output: conversationSchema,
    base: (id) => ({ id: String(id) }),
  },
  {
    path: 'conversation.rename',
    kind: 'mutation',
    keys: ['id', 'name'],
    output: conversationSchema,
    base: (id) => ({ id: String(id), name: '"renamed"' }),
  },
  {
    path: 'conversation.delete',
    kind: 'mutation',
    keys: ['id'],
    output: conversationDeleteResultSchema,
    base: (id) => ({ id: String(id) }),
  },
  {
    path: 'user.update',
    kind: 'mutation',
    keys: ['email'],
    output: userSchema,
    base: () => ({ email: 'null' }),
  },
  // Procedures without input: anything but no input at all is BAD_REQUEST.
  { path: 'user.me', kind: 'query', keys: [], output: userSchema, base: () => ({}) },
  { path: 'user.export', kind: 'query', keys: [], output: userExportSchema, base: () => ({}) },
  {
    path: 'user.delete',
    kind: 'mutation',
    keys: [],
    output: userDeleteResultSchema,
    base: () => ({}),
  },
];

/** Stands for a body over BODY_LIMIT_BYTES, built at call time so a failure report stays short. */
const OVERSIZED = '<a body over the size limit>';

function expand(procedure: Procedure, input: string | undefined): string | undefined {
  if (input !== OVERSIZED) return input;
  return JSON.stringify({ [procedure.keys[0] ?? 'x']: 'a'.repeat(server.env.BODY_LIMIT_BYTES) });
}

/** Inputs for one procedure: none, any JSON, its own keys with any values, or a valid input with one field spoilt. */
function inputFor(procedure: Procedure, conversationId: number): fc.Arbitrary<string | undefined> {
  const mutation = procedure.kind === 'mutation';
  const limits = mutation
    ? [NAME_MAX_CHARS, EMAIL_MAX_CHARS, MAX_CHARS]
    : [NAME_MAX_CHARS, EMAIL_MAX_CHARS];
  const value = jsonText(procedure.keys, limits);
  const ownKey =
    procedure.keys.length === 0
      ? fc.constantFrom(...EXTRA_KEYS)
      : fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom(...procedure.keys) },
          { weight: 1, arbitrary: fc.constantFrom(...EXTRA_KEYS) },
        );
  const spoilt = fc
    .tuple(
      fc.subarray([...procedure.keys, 'extra']),
      fc.array(value, { minLength: 3, maxLength: 3 }),
    )
    .map(([keys, values]) => {
      const entries: Record<string, string> = procedure.base(conversationId);
      keys.forEach((k, i) => {
        entries[k] = values[i] ?? 'null';
      });
      return `{${Object.entries(entries)
        .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
        .join(',')}}`;
    });
  const oversizedBody = fc.constant(OVERSIZED);
  const input = fc.oneof<fc.WeightedArbitrary<string | undefined>[]>(
    { arbitrary: fc.constant(undefined), weight: 1 },
    { arbitrary: value, weight: 3 },
    { arbitrary: objectText(ownKey, value), weight: 4 },
    { arbitrary: spoilt, weight: 7 },
    ...(mutation ? [{ arbitrary: oversizedBody, weight: 1 }] : []),
  );
  // A query's input travels in the URL, which HTTP caps (see the dedicated test below).
  return mutation
    ? input
    : input.filter(
        (text) => text === undefined || encodeURIComponent(text).length < MAX_QUERY_URL_CHARS,
      );
}

// Valid text, as the contract allows it.

// prettier-ignore
const TRICKY_UNITS = [
  'a', 'Z', 'é', 'e\u0301', '😀', '👨‍👩‍👧‍👦', '🇺🇳', 'שלום', 'مرحبا', '\u202e', '\u200f', '\u200b', '\u200d', '\ufeff', ' ', '\t', '\n', '\r\n',
  '\\', '"', "'", '\u0001', '\u007f', '\u0085', '\u00a0', '\u2028', '\uffff', '\ufffe', '\u{10ffff}', '\u{1d11e}', '%', '?',
];

/** Exactly `n` code points cut from a repeated seed string. */
function codePoints(seed: string, n: number): string {
  const points = Array.from(seed);
  if (points.length === 0) return '';
  return Array.from({ length: n }, (_, i) => points[i % points.length]).join('');
}

const validContent = fc
  .oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 100 }),
    fc.string({ unit: fc.constantFrom(...TRICKY_UNITS), minLength: 1, maxLength: 60 }),
    fc
      .tuple(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }),
        fc.integer({ min: MAX_CHARS - 2, max: MAX_CHARS }),
      )
      .map(([seed, n]) => codePoints(seed, n)),
  )
  .filter((s) => storable(s) && between(characterCount(s), 1, MAX_CHARS));

/** Whitespace JavaScript's trim() removes (the contract counts a name after trimming). */
// prettier-ignore
const TRIMMED_SPACE = [
  ' ', '\t', '\n', '\r', '\u000b', '\u000c', '\u00a0', '\u1680', '\u2000', '\u200a', '\u2028', '\u2029', '\u202f',
  '\u205f', '\u3000', '\ufeff',
];
const padding = fc.string({ unit: fc.constantFrom(...TRIMMED_SPACE), maxLength: 4 });

function validName(): fc.Arbitrary<string> {
  const core = fc.oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: NAME_MAX_CHARS }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 50 }),
    fc.string({ unit: fc.constantFrom(...TRICKY_UNITS), minLength: 1, maxLength: 40 }),
    fc
      .tuple(
        fc.string({ unit: 'grapheme-composite', minLength: 1, maxLength: 10 }),
        fc.integer({ min: NAME_MAX_CHARS - 2, max: NAME_MAX_CHARS }),
      )
      .map(([seed, n]) => codePoints(seed, n)),
  );
  return fc
    .tuple(padding, core, padding)
    .map(([before, text, after]) => before + text + after)
    .filter((s) => storable(s) && between(characterCount(s.trim()), 1, NAME_MAX_CHARS));
}

const LOCAL_CHARS = Array.from("abcxyzABCXYZ0189_+-'");
const DOMAIN_CHARS = Array.from('abcdxyzABCDXYZ0189');
const LETTERS = Array.from('abcdefghijklmnopqrstuvwxyzABCXYZ');

/** Addresses the contract's email rule accepts (the generator is checked against it). */
const validEmail = fc
  .oneof(
    fc
      .tuple(
        fc.array(
          fc.string({ unit: fc.constantFrom(...LOCAL_CHARS), minLength: 1, maxLength: 12 }),
          { minLength: 1, maxLength: 3 },
        ),
        fc.array(
          fc
            .tuple(
              fc.constantFrom(...DOMAIN_CHARS),
              fc.string({ unit: fc.constantFrom(...DOMAIN_CHARS, '-'), maxLength: 10 }),
            )
            .map(([first, rest]) => first + rest),
          { minLength: 1, maxLength: 3 },
        ),
        fc.string({ unit: fc.constantFrom(...LETTERS), minLength: 2, maxLength: 6 }),
      )
      .map(([local, labels, tld]) => `${local.join('.')}@${labels.join('.')}.${tld}`),
    // Right at the length limit.
    fc
      .tuple(
        fc.constantFrom(...LOCAL_CHARS.filter((c) => c !== "'")),
        fc.integer({ min: EMAIL_MAX_CHARS - 3, max: EMAIL_MAX_CHARS }),
      )
      .map(([c, n]) => `${c.repeat(n - '@limit.example'.length)}@limit.example`),
  )
  .filter((email) => email.length <= EMAIL_MAX_CHARS && emailSchema.safeParse(email).success);

/** Puts `insert` somewhere in `text`. */
function insertAt(text: string, insert: string, at: number): string {
  const i = at % (text.length + 1);
  return text.slice(0, i) + insert + text.slice(i);
}

const badUnit = fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff');
/** Valid text spoilt by a NUL or a lone surrogate (checked: a surrogate may pair up). */
function spoiltText(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc
    .tuple(valid, badUnit, fc.nat())
    .map(([text, bad, at]) => insertAt(text, bad, at))
    .filter((s) => !storable(s));
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  server = await startServer(db.url, { RATE_LIMIT_PER_MINUTE: '0' });
  expect(server.env.MAX_MESSAGE_CHARS).toBe(MAX_CHARS);
});
afterAll(async () => {
  await server.close();
});

describe('valid text is stored and returned exactly as sent', () => {
  let alice: TestClient;
  let conversationId: number;

  beforeAll(async () => {
    alice = await clientFor(server, 'prop-roundtrip', { batch: false });
    conversationId = (await alice.conversation.create.mutate({})).id;
  });

  it('message.send then message.list returns the same content, byte for byte', async () => {
    await fc.assert(
      fc.asyncProperty(validContent, async (content) => {
        const sent = await alice.message.send.mutate({ conversationId, content });
        expect(sent.content).toBe(content);
        const page = await alice.message.list.query({ conversationId, limit: 1 });
        expect(page.items[0]?.id).toBe(sent.id);
        expect(page.items[0]?.content).toBe(content);
        const [row] = await sql<{ content: string; bytes: number }>(
          'select content, octet_length(content)::int as bytes from messages where id = ?',
          [sent.id],
        );
        expect(row?.content).toBe(content);
        expect(row?.bytes).toBe(Buffer.byteLength(content, 'utf8'));
      }),
      { numRuns: RUNS.roundTrip },
    );
  });

  it('conversation names survive create, get and rename with their whitespace as sent', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.option(validName(), { nil: null }),
        fc.option(validName(), { nil: null }),
        async (name, renamed) => {
          const created = await alice.conversation.create.mutate({ name });
          expect(created.name).toBe(name);
          expect((await alice.conversation.get.query({ id: created.id })).name).toBe(name);
          expect(
            (await alice.conversation.rename.mutate({ id: created.id, name: renamed })).name,
          ).toBe(renamed);
          expect((await alice.conversation.get.query({ id: created.id })).name).toBe(renamed);
          const [row] = await sql<{ name: string | null }>(
            'select name from conversations where id = ?',
            [created.id],
          );
          expect(row?.name).toBe(renamed);
        },
      ),
      { numRuns: RUNS.roundTrip },
    );
  });

  it('emails survive user.update and user.me exactly (case included)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.option(validEmail, { nil: null, freq: 8 }), async (email) => {
        expect((await alice.user.update.mutate({ email })).email).toBe(email);
        expect((await alice.user.me.query()).email).toBe(email);
      }),
      { numRuns: RUNS.roundTrip },
    );
  });
});

describe('invalid text is refused with BAD_REQUEST naming the field, and nothing is stored', () => {
  let token: string;
  let conversationId: number;

  beforeAll(async () => {
    const client = await clientFor(server, 'prop-invalid', { batch: false });
    token = await tokenFor('prop-invalid');
    conversationId = (await client.conversation.create.mutate({ name: 'kept' })).id;
    await client.user.update.mutate({ email: 'kept@invalid.example' });
  });

  const invalidContent = fc.oneof(
    fc.constant(''),
    spoiltText(validContent),
    fc
      .tuple(
        fc.constantFrom('a', '😀', 'é', ' '),
        fc.integer({ min: MAX_CHARS + 1, max: MAX_CHARS + 3 }),
      )
      .map(([unit, n]) => unit.repeat(n)),
  );

  it('message.send: empty, NUL, lone surrogate, too long', async () => {
    await fc.assert(
      fc.asyncProperty(invalidContent, async (content) => {
        const before = await count('select count(*)::int as n from messages');
        const input = JSON.stringify({ conversationId, content });
        const response = await call('message.send', 'mutation', input, token);
        expectFieldError(response, 'content', describeCall('message.send', input, response));
        expect(await count('select count(*)::int as n from messages')).toBe(before);
      }),
      { numRuns: RUNS.invalid },
    );
  });

  const invalidName = fc.oneof(
    fc.constant(''),
    padding.filter((s) => s !== ''), // whitespace only
    spoiltText(validName()),
    fc
      .tuple(
        padding,
        fc.constantFrom('a', '😀', '\u200b', 'e\u0301'),
        fc.integer({ min: NAME_MAX_CHARS + 1, max: NAME_MAX_CHARS + 3 }),
        padding,
      )
      .map(([before, unit, n, after]) => before + codePoints(unit, n) + after),
  );

  it('conversation.create and rename: empty, whitespace only, NUL, lone surrogate, too long', async () => {
    await fc.assert(
      fc.asyncProperty(invalidName, async (name) => {
        const before = await count('select count(*)::int as n from conversations');
        const create = JSON.stringify({ name });
        const created = await call('conversation.create', 'mutation', create, token);
        expectFieldError(created, 'name', describeCall('conversation.create', create, created));
        expect(await count('select count(*)::int as n from conversations')).toBe(before);

        const rename = JSON.stringify({ id: conversationId, name });
        const renamed = await call('conversation.rename', 'mutation', rename, token);
        expectFieldError(renamed, 'name', describeCall('conversation.rename', rename, renamed));
        const [row] = await sql<{ name: string | null }>(
          'select name from conversations where id = ?',
          [conversationId],
        );
        expect(row?.name).toBe('kept');
      }),
      { numRuns: RUNS.invalid },
    );
  });

  const invalidEmail = fc.oneof(
    // prettier-ignore
    fc.constantFrom(
      '', ' ', 'plainaddress', 'a@b', '@b.co', 'a@@b.co', 'a b@c.de', ' a@b.co', 'a@b.co ', 'a@b.co\n', '.a@b.co',
      'a..b@c.de', 'ä@b.co', 'a@b.c',
    ),
    spoiltText(validEmail),
    fc
      .integer({ min: EMAIL_MAX_CHARS + 1, max: EMAIL_MAX_CHARS + 3 })
      .map((n) => `${'a'.repeat(n - '@long.example'.length)}@long.example`),
  );

  it('user.update: not an email, NUL, lone surrogate, too long', async () => {
    await fc.assert(
      fc.asyncProperty(invalidEmail, async (email) => {
        const input = JSON.stringify({ email });
        const response = await call('user.update', 'mutation', input, token);
        expectFieldError(response, 'email', describeCall('user.update', input, response));
        const [row] = await sql<{ email: string | null }>(
          'select email from users where username = ?',
          ['prop-invalid'],
        );
        expect(row?.email).toBe('kept@invalid.example');
      }),
      { numRuns: RUNS.invalid },
    );
  });
});

describe('a body that is not UTF-8', () => {
  /** Byte sequences no UTF-8 decoder may accept (RFC 3629), including a UTF-8-encoded lone surrogate. */
  // prettier-ignore
  const MALFORMED = [
    'ff', 'fe', '80', 'c0 80', 'c1 bf', 'e2 82', 'ed a0 80', 'ed bf bf', 'f4 90 80 80', 'f8 88 80 80 80',
  ].map((hex) => Buffer.from(hex.replaceAll(' ', ''), 'hex'));

  // tRPC's own fastify parser decodes leniently (malformed bytes became U+FFFD, stored with a 200);
  // the server's body parser decodes strictly, so such a body is refused.
  it('is refused with BAD_REQUEST and stores nothing (message.send content)', async () => {
    const client = await clientFor(server, 'prop-utf8', { batch: false });
    const token = await tokenFor('prop-utf8');
    const conversationId = (await client.conversation.create.mutate({})).id;
    await fc.assert(
      fc.asyncProperty(
        validContent,
        fc.constantFrom(...MALFORMED),
        fc.nat(),
        async (content, bad, at) => {
          const points = Array.from(content);
          const i = at % (points.length + 1);
          const body = Buffer.concat([
            Buffer.from(
              `{"conversationId":${conversationId},"content":${JSON.stringify(points.slice(0, i).join('')).slice(0, -1)}`,
            ),
            bad,
            Buffer.from(`${JSON.stringify(points.slice(i).join('')).slice(1)}}`),
          ]);
          const before = await count(
            'select count(*)::int as n from messages where conversation_id = ?',
            [conversationId],
          );
          const response = await fetch(`${server.url}/trpc/message.send`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body,
          });
          const label = `message.send with bytes ${bad.toString('hex')} at code point ${i} → ${response.status}`;
          expectCode(
            { status: response.status, body: await response.json() },
            'BAD_REQUEST',
            label,
          );
          expect(
            await count('select count(*)::int as n from messages where conversation_id = ?', [
              conversationId,
            ]),
          ).toBe(before);
        },
      ),
      { numRuns: 20, endOnFailure: true },
    );
  });
});

describe('ids', () => {
  let token: string;
  let ownConversation: number;
  let othersConversations: number[];

  beforeAll(async () => {
    const alice = await clientFor(server, 'prop-ids-alice', { batch: false });
    const bob = await clientFor(server, 'prop-ids-bob', { batch: false });
    token = await tokenFor('prop-ids-alice');
    ownConversation = (await alice.conversation.create.mutate({ name: 'mine' })).id;
    othersConversations = [];
    for (let i = 0; i < 5; i++) {
      const conversation = await bob.conversation.create.mutate({ name: `bob ${i}` });
      await bob.message.send.mutate({ conversationId: conversation.id, content: `bob says ${i}` });
      othersConversations.push(conversation.id);
    }
  });

  /** Everything anyone owns, to prove a refused call changed nothing. */
  async function snapshot(): Promise<string> {
    const conversations = await sql('select id, user_id, name from conversations order by id');
    const messages = await sql('select id, conversation_id, content from messages order by id');
    return JSON.stringify({ conversations, messages });
  }

  /** Raw JSON for anything that is not an integer in 1..ID_MAX. */
  const invalidIdText = (nullable: boolean) =>
    fc.oneof(
      // prettier-ignore
      fc.constantFrom(
        '0', '-0', '-1', '0.5', '1.5', '1.0000001', '2147483647.5', '2147483648', '4294967296', '9007199254740992',
        '9007199254740993', '1e400', '-1e400', '1e308', '5e-324', '1e-400', '-2147483648', '"1"', '"0x1"', '" 1"', '""',
        'true', 'false', '[]', '[1]', '{}', '{"id":1}', ...(nullable ? [] : ['null']),
      ),
      fc.integer({ max: 0 }).map(String),
      fc
        .maxSafeInteger()
        .filter((n) => n < 1 || n > ID_MAX)
        .map(String),
      fc.bigInt({ min: 2n ** 31n, max: 2n ** 80n }).map(String),
      fc
        .double({ noNaN: true, noDefaultInfinity: true })
        .filter((n) => !(Number.isInteger(n) && between(n, 1, ID_MAX)))
        .map((n) => JSON.stringify(n)),
      fc.integer({ min: 1, max: ID_MAX }).map((n) => JSON.stringify(String(n))),
    );

  interface IdField {
    path: string;
    kind: Kind;
    field: string;
    nullable: boolean;
    rest: () => Record<string, string>;
  }
  const ID_FIELDS: IdField[] = [
    { path: 'conversation.get', kind: 'query', field: 'id', nullable: false, rest: () => ({}) },
    {
      path: 'conversation.rename',
      kind: 'mutation',
      field: 'id',
      nullable: false,
      rest: () => ({ name: '"renamed"' }),
    },
    {
      path: 'conversation.delete',
      kind: 'mutation',
      field: 'id',
      nullable: false,
      rest: () => ({}),
    },
    {
      path: 'message.send',
      kind: 'mutation',
      field: 'conversationId',
      nullable: false,
      rest: () => ({ content: '"hi"' }),
    },
    {
      path: 'message.list',
      kind: 'query',
      field: 'conversationId',
      nullable: false,
      rest: () => ({}),
    },
    {
      path: 'message.list',
      kind: 'query',
      field: 'cursor',
      nullable: true,
      rest: () => ({ conversationId: String(ownConversation) }),
    },
    { path: 'conversation.list', kind: 'query', field: 'cursor', nullable: true, rest: () => ({}) },
  ];

  it('any id that is not an integer in 1..2147483647 is BAD_REQUEST for every id-taking procedure', async () => {
    const before = await snapshot();
    const cases = fc
      .constantFrom(...ID_FIELDS)
      .chain((target) => fc.tuple(fc.constant(target), invalidIdText(target.nullable)));
    await fc.assert(
      fc.asyncProperty(cases, async ([target, id]) => {
        const fields = { ...target.rest(), [target.field]: id };
        const input = `{${Object.entries(fields)
          .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
          .join(',')}}`;
        const response = await call(target.path, target.kind, input, token);
        expectFieldError(response, target.field, describeCall(target.path, input, response));
      }),
      { numRuns: RUNS.badIds },
    );
    expect(await snapshot()).toBe(before);
  });

  it('a valid id that does not exist or is not the caller’s is NOT_FOUND, and changes nothing', async () => {
    const own = new Set(
      (
        await sql<{ id: number }>(
          'select c.id from conversations c join users u on u.id = c.user_id where u.username = ?',
          ['prop-ids-alice'],
        )
      ).map((row) => row.id),
    );
    const before = await snapshot();
    const id = fc
      .oneof(
        fc.constantFrom(...othersConversations),
        fc.constantFrom(ID_MAX, ID_MAX - 1, 1, 2),
        fc.integer({ min: 1, max: ID_MAX }),
      )
      .filter((n) => !own.has(n));
    const calls: [string, Kind, (n: number) => string][] = [
      ['conversation.get', 'query', (n) => JSON.stringify({ id: n })],
      ['conversation.rename', 'mutation', (n) => JSON.stringify({ id: n, name: 'stolen' })],
      ['conversation.delete', 'mutation', (n) => JSON.stringify({ id: n })],
      [
        'message.send',
        'mutation',
        (n) => JSON.stringify({ conversationId: n, content: 'intruder' }),
      ],
      ['message.list', 'query', (n) => JSON.stringify({ conversationId: n })],
      [
        'message.list',
        'query',
        (n) => JSON.stringify({ conversationId: n, cursor: ID_MAX, order: 'desc', limit: 200 }),
      ],
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...calls), id, async ([path, kind, input], n) => {
        const text = input(n);
        const response = await call(path, kind, text, token);
        expectCode(response, 'NOT_FOUND', describeCall(path, text, response));
      }),
      { numRuns: RUNS.notFound },
    );
    expect(await snapshot()).toBe(before);
  });
});

describe('no input is ever a 500', () => {
  for (const procedure of PROCEDURES) {
    it(`${procedure.path}: any JSON input gets a 2xx or a tRPC error with a contract code`, async () => {
      // One user per procedure: conversation.delete may delete only its own fuzzing conversation.
      const username = `prop-fuzz-${procedure.path}`;
      const token = await tokenFor(username);
      const client = await clientFor(server, username, { batch: false });
      const conversationId = (await client.conversation.create.mutate({ name: 'fuzz' })).id;
      await fc.assert(
        fc.asyncProperty(inputFor(procedure, conversationId), async (input) => {
          const response = await call(
            procedure.path,
            procedure.kind,
            expand(procedure, input),
            token,
          );
          const label = describeCall(procedure.path, input, response);
          if (response.status >= 400) {
            expectContractError(response, label);
            return;
          }
          expect(response.status, label).toBe(200);
          const envelope = successEnvelope.safeParse(response.body);
          if (!envelope.success) expect.fail(`not a tRPC result: ${label}`);
          expect(procedure.output.safeParse(envelope.data.result.data).success, label).toBe(true);
        }),
        { numRuns: RUNS.fuzz },
      );
    });
  }

  it('a query whose URL is over the HTTP header limit is refused, never a 500', async () => {
    const token = await tokenFor('prop-fuzz-long-url');
    const input = JSON.stringify({ id: 'a'.repeat(20_000) });
    const response = await call('conversation.get', 'query', input, token);
    // Node's HTTP parser answers before fastify does; the server still answers in tRPC's shape.
    expect(response.status).toBe(431);
    expect(response.body).toMatchObject({
      error: { data: { code: 'BAD_REQUEST', httpStatus: 431 } },
    });
  });
});

describe('after the fuzzing', () => {
  it('the server still serves: /healthz, /readyz and a normal user.me', async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    const client = await clientFor(server, 'prop-after', { batch: false });
    const me = await client.user.me.query();
    expect(me.username).toBe('prop-after');
    const raw = await rawCall(server, 'user.me', { token: await tokenFor('prop-after') });
    expect(raw.status).toBe(200);
  });
});
