// The HTTP surface under hostile input, with the api as its own process, through both HTTP fronts:
// raw bytes over a socket (malformed HTTP, bad lengths and chunks, odd methods, pipelining), huge
// and deeply nested bodies, odd paths, prototype keys and every kind of JSON value. Each answer is
// exact (a 4xx with a contract code, or the connection closed when HTTP cannot be parsed), nothing
// refused is stored, memory stays flat, and the server keeps serving.
// The default run is short; CHAT_FUZZ_RUNS=20000 (the long run) runs each generated property that
// many times and pushes up to 20 times the bytes through the memory check.
import {
  ID_MAX,
  conversationCreateInput,
  conversationPageSchema,
  conversationSchema,
  conversationIdInput,
  conversationListInput,
  conversationRenameInput,
  messageListInput,
  messageSendInputSchema,
  noInput,
} from '@chat/contracts';
import { freePort, useTestDatabase } from '@chat/db/testing';
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as z from 'zod';
import type { AppRouter } from '../src/root.js';
import { UNKNOWN_PATHS, VALUE_TEXTS, inputText } from './fuzz-inputs.js';
import { spawnApi, waitForStatus, type ApiProcess } from './process-harness.js';
import { exchange, request, type Exchange } from './raw-http.js';
import { TEST_SECRET, tokenFor } from './server-harness.js';

const db = useTestDatabase();

const DEFAULT_RUNS = 200;
/** Runs per generated property and front; CHAT_FUZZ_RUNS overrides (the long run). */
const RUNS = fuzzRuns(process.env.CHAT_FUZZ_RUNS);
/** The long run pushes this many times the default bytes through the memory check (at most 20). */
const SCALE = Math.min(20, Math.max(1, Math.round(RUNS / DEFAULT_RUNS)));

function fuzzRuns(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_RUNS;
  const runs = Number(value);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`CHAT_FUZZ_RUNS is not a count: ${value}`);
  return runs;
}

/** The server's defaults (env.ts, @chat/contracts), which it runs with here. */
const BODY_LIMIT = 4 * 1_048_576;
const MAX_BATCH = 50;
/** fastify's longest path parameter: room for a full batch of names (server.ts). */
const MAX_PATH_PARAM = 5_000;
/** Node's limit on the request line and headers together. */
const MAX_HEADER_BYTES = 16_384;
const MiB = 1_048_576;

/**
 * Lets the test make the server run a full GC (on SIGUSR2), so that its heap can be read without
 * the garbage a busy server carries: without it, readings swing by 100 MB from one to the next.
 * The same trick as jest's leak detector; nothing else in the server changes.
 */
const GC_ON_SIGNAL =
  "import v8 from 'node:v8'; import vm from 'node:vm'; v8.setFlagsFromString('--expose-gc'); " +
  "const gc = vm.runInNewContext('gc'); process.on('SIGUSR2', () => { gc(); gc(); });";

const FRONTS = ['fast', 'standard'] as const;
type Front = (typeof FRONTS)[number];
const servers = new Map<Front, ApiProcess>();

/** Someone else's conversation and messages: every call that names them must leave them as they are. */
const victim = { conversationId: 0 };

beforeAll(async () => {
  for (const front of FRONTS) {
    servers.set(
      front,
      spawnApi(await freePort(), {
        DATABASE_URL: db.url,
        AUTH_SECRET: TEST_SECRET,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        TRPC_ADAPTER: front,
        // Thousands of calls from one user: the limits are not under test here.
        RATE_LIMIT_PER_MINUTE: '0',
        MAX_CONCURRENT_PER_USER: '0',
        NODE_OPTIONS: `--import="data:text/javascript,${GC_ON_SIGNAL}"`,
      }),
    );
  }
  await Promise.all([...servers.values()].map((api) => waitForStatus(api, '/readyz', 200)));
  const api = serverFor('fast');
  const token = await tokenFor('fuzz-victim');
  const created = await call(api, 'conversation.create', { token, body: '{"name":"victim"}' });
  victim.conversationId = resultOf(created.body, conversationSchema).id;
  for (const content of ['first', 'second']) {
    const body = JSON.stringify({ conversationId: victim.conversationId, content });
    expect((await call(api, 'message.send', { token, body })).status).toBe(200);
  }
});

afterAll(async () => {
  for (const api of servers.values()) {
    api.child.kill('SIGTERM');
    await api.exited;
  }
});

function serverFor(front: Front): ApiProcess {
  const api = servers.get(front);
  if (!api) throw new Error(`no server for the ${front} front`);
  return api;
}

// ---------------------------------------------------------------------------------------------
// Answers

type Code = 'OK' | TRPC_ERROR_CODE_KEY;

const STATUS: Partial<Record<Code, number>> = {
  OK: 200,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  METHOD_NOT_SUPPORTED: 405,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
};

/** 'OK' for a result, the tRPC code for an error, 'NOT_TRPC' for anything else. */
function codeOf(answer: unknown): string {
  if (typeof answer !== 'object' || answer === null) return 'NOT_TRPC';
  if ('result' in answer) return 'OK';
  const error = (answer as { error?: { code?: unknown; data?: { code?: unknown } } }).error;
  return typeof error?.code === 'number' && typeof error.data?.code === 'string'
    ? error.data.code
    : 'NOT_TRPC';
}

function codesOf(body: unknown): string | string[] {
  return Array.isArray(body) ? body.map(codeOf) : codeOf(body);
}

/** The status tRPC gives a batch: its calls' one status, or 207 when they differ. */
function batchStatus(codes: readonly Code[]): number {
  const statuses = [...new Set(codes.map((code) => STATUS[code] ?? 0))];
  return statuses.length === 1 ? (statuses[0] ?? 0) : 207;
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The data of a tRPC result (single, or one item of a batch), checked against its contract shape. */
function resultOf<S extends z.ZodType>(answer: unknown, schema: S): z.infer<S> {
  const result = (answer as { result?: { data?: unknown } }).result;
  const data = schema.safeParse(result?.data);
  if (!data.success) throw new Error(`not the expected result: ${JSON.stringify(answer)}`);
  return data.data;
}

/** The ids of the conversations a body's results describe (a user's or a page's are not). */
function conversationIds(body: unknown): number[] {
  return (Array.isArray(body) ? body : [body])
    .map((item) =>
      conversationSchema.safeParse((item as { result?: { data?: unknown } }).result?.data),
    )
    .flatMap((data) => (data.success ? [data.data.id] : []));
}

// ---------------------------------------------------------------------------------------------
// fetch: well-formed HTTP

interface Answer {
  status: number;
  body: unknown;
}

async function call(
  api: ApiProcess,
  target: string,
  init: { token?: string; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers['content-type'] ??= 'application/json';
  const shown = `${target.slice(0, 200)} with ${init.body?.length ?? 'no'} bytes`;
  const response = await fetch(`${api.url}/trpc/${target}`, {
    method: init.body === undefined ? 'GET' : 'POST',
    headers,
    ...(init.body === undefined ? {} : { body: init.body }),
  }).catch((error: unknown) => {
    throw new Error(`no answer to ${shown}`, { cause: error });
  });
  return { status: response.status, body: parsed(await response.text()) };
}

/** The exact answer: a code (single call) or codes (batch), and the status tRPC gives them. */
function expectCodes(answer: Answer, codes: Code | readonly Code[], label: string): void {
  const status = typeof codes === 'string' ? (STATUS[codes] ?? 0) : batchStatus(codes);
  const shown = `${label} → ${answer.status} ${JSON.stringify(answer.body).slice(0, 400)}`;
  expect(answer.status, shown).toBe(status);
  expect(codesOf(answer.body), shown).toEqual(codes);
  if (typeof codes === 'string' && codes !== 'OK') {
    const { data } = (answer.body as { error: { data: { httpStatus: number } } }).error;
    expect(data.httpStatus, shown).toBe(answer.status);
  }
}

// ---------------------------------------------------------------------------------------------
// Raw sockets: what fetch cannot send

/** One answer a raw exchange must give: its status; its codes, exact JSON or empty body; headers. */
interface Expected {
  status: number;
  codes?: Code | Code[];
  json?: unknown;
  empty?: true;
  headers?: Record<string, string>;
}

/** The answers in order, nothing after them, and the connection closed by the server. */
function expectExchange(got: Exchange, expected: readonly Expected[], label: string): void {
  const seen = got.answers.map((a) => [a.status, a.body.slice(0, 300)]);
  const shown = `${label} → ${JSON.stringify(seen)}, then ${JSON.stringify(got.rest.slice(0, 200))}`;
  expect(
    got.answers.map((a) => a.status),
    shown,
  ).toEqual(expected.map((e) => e.status));
  expect(got.rest, shown).toBe('');
  expected.forEach((want, i) => {
    const body = got.answers[i]?.body ?? '';
    if (want.codes !== undefined) expect(codesOf(parsed(body)), shown).toEqual(want.codes);
    if (want.json !== undefined) expect(parsed(body), shown).toEqual(want.json);
    if (want.empty) expect(body, shown).toBe('');
    for (const [name, value] of Object.entries(want.headers ?? {})) {
      expect(got.answers[i]?.headers.get(name), `${name} of ${shown}`).toBe(value);
    }
  });
}

/** HTTP the server cannot parse: answered in tRPC's shape, and the connection closed. */
const MALFORMED: Expected = { status: 400, codes: 'BAD_REQUEST', headers: { connection: 'close' } };
const TOO_LARGE_HEAD: Expected = { ...MALFORMED, status: 431 };

// ---------------------------------------------------------------------------------------------
// The database: nothing stored but what was answered 200

const pool = new pg.Pool({ connectionString: db.url, max: 2 });
afterAll(async () => {
  await pool.end();
});

/** Every row, keyed `users/<username>`, `conversations/<id>`, `messages/<id>`. */
async function snapshot(): Promise<Map<string, string>> {
  const { rows } = await pool.query<{ key: string; value: string }>(`
    select 'users/' || username as key, id || '/' || coalesce(email, '') as value from users
    union all
    select 'conversations/' || id, user_id || '/' || coalesce(name, '<null>') from conversations
    union all
    select 'messages/' || id, conversation_id || '/' || role || '/' || md5(content) from messages`);
  return new Map(rows.map((row) => [row.key, row.value]));
}

/** Rows added, removed or changed since `before`. */
async function changesSince(before: Map<string, string>) {
  const after = await snapshot();
  return {
    added: [...after.keys()].filter((key) => !before.has(key)).sort(),
    removed: [...before.keys()].filter((key) => !after.has(key)).sort(),
    changed: [...after.keys()].filter(
      (key) => before.has(key) && before.get(key) !== after.get(key),
    ),
  };
}

/** Exactly these rows added: users made just in time by a call that ran, and what 200s made. */
function only({
  users = [],
  conversations = [],
  messages = [],
}: {
  users?: string[];
  conversations?: number[];
  messages?: number[];
}) {
  const added = [
    ...users.map((name) => `users/${name}`),
    ...conversations.map((id) => `conversations/${id}`),
    ...messages.map((id) => `messages/${id}`),
  ];
  return { added: added.sort(), removed: [], changed: [] };
}

// ---------------------------------------------------------------------------------------------
// Procedures, and the answer a valid input gets from a caller that owns nothing

interface Target {
  path: string;
  kind: 'query' | 'mutation';
  /** The contract's own input schema: the oracle for what is valid. */
  schema: z.ZodType;
  /** A valid input, raw JSON per field, naming the victim's conversation. */
  base: () => Record<string, string>;
  valid: Code;
}

const TARGETS: readonly Target[] = [
  {
    path: 'conversation.get',
    kind: 'query',
    schema: conversationIdInput,
    base: () => ({ id: String(victim.conversationId) }),
    valid: 'NOT_FOUND',
  },
  {
    path: 'conversation.list',
    kind: 'query',
    schema: conversationListInput,
    base: () => ({ cursor: 'null', limit: '20' }),
    valid: 'OK',
  },
  {
    path: 'message.list',
    kind: 'query',
    schema: messageListInput,
    base: () => ({
      conversationId: String(victim.conversationId),
      cursor: String(ID_MAX),
      limit: '200',
      order: '"asc"',
    }),
    valid: 'NOT_FOUND',
  },
  { path: 'user.me', kind: 'query', schema: noInput, base: () => ({}), valid: 'OK' },
  { path: 'user.export', kind: 'query', schema: noInput, base: () => ({}), valid: 'OK' },
  {
    path: 'conversation.rename',
    kind: 'mutation',
    schema: conversationRenameInput,
    base: () => ({ id: String(victim.conversationId), name: '"stolen"' }),
    valid: 'NOT_FOUND',
  },
  {
    path: 'conversation.delete',
    kind: 'mutation',
    schema: conversationIdInput,
    base: () => ({ id: String(victim.conversationId) }),
    valid: 'NOT_FOUND',
  },
  {
    path: 'message.send',
    kind: 'mutation',
    schema: messageSendInputSchema(),
    base: () => ({ conversationId: String(victim.conversationId), content: '"intruder"' }),
    valid: 'NOT_FOUND',
  },
];

/** conversation.create stores what it is given: fuzzed by a user of its own, its rows counted. */
const CREATE: Target = {
  path: 'conversation.create',
  kind: 'mutation',
  schema: conversationCreateInput,
  base: () => ({ name: '"fuzzed"' }),
  valid: 'OK',
};

/** What the server answers `text` with: JSON.parse and the contract's input schema decide. */
function expectedFor(target: Target, text: string, via: 'GET' | 'POST'): Code {
  // A body may start with a byte order mark, which RFC 8259 lets a parser ignore; up to two are
  // dropped (one by the server's UTF-8 decoder, one by the Fetch API's inside tRPC's handler).
  // A URL's input keeps every one.
  const seen = via === 'POST' ? text.replace(/^\uFEFF{1,2}/, '') : text;
  let input: unknown;
  try {
    input = seen === '' ? undefined : JSON.parse(seen);
  } catch {
    return 'BAD_REQUEST';
  }
  return target.schema.safeParse(input).success ? target.valid : 'BAD_REQUEST';
}

function objectText(fields: Record<string, string>): string {
  const entries = Object.entries(fields).map(([key, value]) => `${JSON.stringify(key)}:${value}`);
  return `{${entries.join(',')}}`;
}

/** One call: a query as GET ?input= (spaces as `+` when `plus`), a mutation as a POST body. */
function send(api: ApiProcess, target: Target, text: string, token: string, plus = false) {
  if (target.kind === 'mutation') return call(api, target.path, { token, body: text });
  const encoded = encodeURIComponent(text);
  const query = text === '' ? '' : `?input=${plus ? encoded.replaceAll('%20', '+') : encoded}`;
  return call(api, `${target.path}${query}`, { token });
}

// ---------------------------------------------------------------------------------------------
// Memory, read from the server's own /metrics

interface Memory {
  heap: number;
  rss: number;
}

function gauge(metrics: string, name: string): number {
  const value = new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1];
  if (value === undefined) throw new Error(`no ${name} in /metrics`);
  return Number(value);
}

/** A body near the limit that validation refuses. */
const NEAR_LIMIT = `{"name":"${'n'.repeat(BODY_LIMIT - 12)}"}`;

/** The heap and RSS right after full GCs (the lowest of three), with the server idle. */
async function liveMemory(api: ApiProcess): Promise<Memory> {
  const readings: Memory[] = [];
  for (let i = 0; i < 3; i++) {
    api.child.kill('SIGUSR2');
    await new Promise((resolve) => setTimeout(resolve, 250));
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    readings.push({
      heap: gauge(metrics, 'nodejs_heap_size_used_bytes'),
      rss: gauge(metrics, 'process_resident_memory_bytes'),
    });
  }
  return {
    heap: Math.min(...readings.map((m) => m.heap)),
    rss: Math.min(...readings.map((m) => m.rss)),
  };
}

/**
 * Hostile traffic until `bytes` are pushed: per round, bodies at and over the limit, invalid
 * UTF-8, a batch of 50 oversized names, many keys, deep nesting; beside them sixty small bad
 * calls and raw garbage. Every answer is checked. Returns the bytes and requests pushed.
 */
async function pushHostile(api: ApiProcess, token: string, bytes: number) {
  let pushed = 0;
  let requests = 0;
  const post = async (path: string, body: string | Buffer, codes: Code | Code[]) => {
    pushed += body.length;
    requests++;
    expectCodes(await call(api, path, { token, body }), codes, `${path} (${body.length} bytes)`);
  };
  const overLimit = `{"name":"${'o'.repeat(BODY_LIMIT + MiB)}"}`;
  const badUtf8 = Buffer.from(NEAR_LIMIT);
  badUtf8[BODY_LIMIT / 2] = 0xff;
  const longNames = JSON.stringify(
    Object.fromEntries(
      Array.from({ length: MAX_BATCH }, (_, i) => [i, { name: 'x'.repeat(80_000) }]),
    ),
  );
  const creates = `${Array.from({ length: MAX_BATCH }, () => 'conversation.create').join(',')}?batch=1`;
  const manyKeys = `{${Array.from({ length: 20_000 }, (_, i) => `"k${i}":${i}`).join(',')}}`;
  const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
  const toVictim = `{"id":${victim.conversationId},"name":"x"}`;
  const small: [string, string | undefined, Code | Code[]][] = [
    ['conversation.create', '{"name": ', 'BAD_REQUEST'],
    ['conversation.create', '{"name":"x",}', 'BAD_REQUEST'],
    ['conversation.create', "{'name':'x'}", 'BAD_REQUEST'],
    ['message.send', '{"conversationId":1e400,"content":"x"}', 'BAD_REQUEST'],
    ['message.send', '{"conversationId":"1","content":"x"}', 'BAD_REQUEST'],
    ['message.send', '{"conversationId":1,"content":"\\u0000"}', 'BAD_REQUEST'],
    ['conversation.rename', toVictim, 'NOT_FOUND'],
    ['__proto__', '{}', 'NOT_FOUND'],
    ['message..send', '{}', 'NOT_FOUND'],
    ['user.me', undefined, 'OK'],
    [`conversation.list?input=${encodeURIComponent('['.repeat(1_000))}`, undefined, 'BAD_REQUEST'],
    [`conversation.get?input=${encodeURIComponent('{"id":2147483648}')}`, undefined, 'BAD_REQUEST'],
    [`${'user.me,'.repeat(MAX_BATCH)}user.me?batch=1`, undefined, 'BAD_REQUEST'],
    ['user.me?batch=1&input=1', undefined, ['BAD_REQUEST']],
  ];
  const raw: [string, number][] = [
    ['GARBAGE\r\n\r\n', 400],
    [`GET /healthz HTTP/1.1\r\nHost: x\r\n${'X-Flood: a\r\n'.repeat(20_000)}\r\n`, 431],
    [
      request('POST', '/trpc/conversation.create', {
        headers: { 'Transfer-Encoding': 'chunked' },
        body: 'zz\r\n',
      }),
      400,
    ],
  ];
  const dropped = request('POST', '/trpc/conversation.create', {
    headers: { 'Content-Length': '999' },
    body: '{"na',
  });
  while (pushed < bytes) {
    const big = async () => {
      await post('conversation.create', NEAR_LIMIT, 'BAD_REQUEST');
      await post('conversation.create', overLimit, 'PAYLOAD_TOO_LARGE');
      await post('conversation.create', badUtf8, 'BAD_REQUEST');
      await post(
        creates,
        longNames,
        Array.from({ length: MAX_BATCH }, () => 'BAD_REQUEST' as const),
      );
      await post('conversation.create', manyKeys, 'BAD_REQUEST');
      await post('conversation.create', deep, 'BAD_REQUEST');
    };
    const smallCalls = async () => {
      for (let i = 0; i < 60; i++) {
        const [target, body, codes] = small[i % small.length] ?? ['user.me', undefined, 'OK'];
        if (body === undefined) {
          requests++;
          expectCodes(await call(api, target, { token }), codes, target);
        } else await post(target, body, codes);
      }
    };
    const garbage = async () => {
      for (const [text, status] of raw) {
        pushed += text.length;
        requests++;
        const got = await exchange(api.url, text);
        expect(got.answers.map((a) => a.status)).toEqual([status]);
      }
      await exchange(api.url, dropped, { destroy: true });
    };
    await Promise.all([big(), smallCalls(), garbage()]);
  }
  return { pushed, requests };
}

// ---------------------------------------------------------------------------------------------

describe.each(FRONTS)('the %s front', (front) => {
  let api: ApiProcess;
  beforeAll(() => {
    api = serverFor(front);
  });
  const user = (group: string) => `fuzz-${front}-${group}`;

  it('answers malformed HTTP with 400 or 431 and closes, or closes at once; runs nothing', async () => {
    const auth = { Authorization: `Bearer ${await tokenFor(user('raw'))}` };
    const json = { ...auth, 'Content-Type': 'application/json' };
    const create = '/trpc/conversation.create';
    const chunked = (chunks: string) =>
      request('POST', create, {
        headers: { ...json, 'Transfer-Encoding': 'chunked' },
        body: chunks,
      });
    const withLength = (length: string, body = '{}') =>
      request('POST', create, { headers: { ...json, 'Content-Length': length }, body });
    const twice = (name: string, first: string, second: string, body: string) =>
      `POST ${create} HTTP/1.1\r\nHost: x\r\n${name}: ${first}\r\n${name}: ${second}\r\n\r\n${body}`;

    const cases: [string, string | Buffer, Expected[]][] = [
      ['a garbage request line', 'GARBAGE\r\n\r\n', [MALFORMED]],
      ['an unknown HTTP version', 'GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n', [MALFORMED]],
      ['a lower-case method', request('get', '/healthz'), [MALFORMED]],
      ['an unknown method', request('FOO', '/trpc/user.me', { headers: auth }), [MALFORMED]],
      ['a space in the target', request('GET', '/trpc/user me', { headers: auth }), [MALFORMED]],
      [
        'a NUL in the target',
        request('GET', '/trpc/user.me\u0000', { headers: auth }),
        [MALFORMED],
      ],
      [
        'raw UTF-8 in the target',
        Buffer.from(request('GET', '/trpc/üser.me', { headers: auth })),
        [MALFORMED],
      ],
      ['bare LF line ends', 'GET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n', [MALFORMED]],
      ['the HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', [MALFORMED]],
      ['a TLS ClientHello', Buffer.from('16030100a5010000a10303', 'hex'), [MALFORMED]],
      [
        'a header without a colon',
        'GET /healthz HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n',
        [MALFORMED],
      ],
      ['a folded header', 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n  b\r\n\r\n', [MALFORMED]],
      [
        'a NUL in a header',
        request('GET', '/healthz', { headers: { 'X-A': 'a\u0000b' } }),
        [MALFORMED],
      ],
      [
        'a space in a header name',
        request('GET', '/healthz', { headers: { 'X A': 'b' } }),
        [MALFORMED],
      ],
      ['a Content-Length that is no number', withLength('abc'), [MALFORMED]],
      ['a negative Content-Length', withLength('-1'), [MALFORMED]],
      ['a Content-Length with a plus sign', withLength('+2'), [MALFORMED]],
      ['a Content-Length in hex', withLength('0x2'), [MALFORMED]],
      ['a Content-Length list', withLength('2, 2'), [MALFORMED]],
      ['a Content-Length with a space inside', withLength('2 2'), [MALFORMED]],
      ['a Content-Length past 2^64', withLength('99999999999999999999'), [MALFORMED]],
      ['two different Content-Lengths', twice('Content-Length', '2', '3', '{}'), [MALFORMED]],
      ['two equal Content-Lengths', twice('Content-Length', '2', '2', '{}'), [MALFORMED]],
      [
        'Transfer-Encoding chunked twice',
        twice('Transfer-Encoding', 'chunked', 'chunked', '2\r\n{}\r\n0\r\n\r\n'),
        [MALFORMED],
      ],
      [
        'Content-Length beside Transfer-Encoding (request smuggling)',
        request('POST', create, {
          headers: { ...json, 'Content-Length': '2', 'Transfer-Encoding': 'chunked' },
          body: '2\r\n{}\r\n0\r\n\r\n',
        }),
        [MALFORMED],
      ],
      [
        'Transfer-Encoding gzip',
        request('POST', create, { headers: { ...json, 'Transfer-Encoding': 'gzip' }, body: '{}' }),
        [MALFORMED],
      ],
      [
        'Transfer-Encoding chunked, gzip',
        request('POST', create, {
          headers: { ...json, 'Transfer-Encoding': 'chunked, gzip' },
          body: '2\r\n{}\r\n0\r\n\r\n',
        }),
        [MALFORMED],
      ],
      ['a chunk size that is not hex', chunked('zz\r\n{}\r\n0\r\n\r\n'), [MALFORMED]],
      ['a chunk size past 2^64', chunked('FFFFFFFFFFFFFFFFFF\r\n{}\r\n0\r\n\r\n'), [MALFORMED]],
      ['a negative chunk size', chunked('-2\r\n{}\r\n0\r\n\r\n'), [MALFORMED]],
      ['a chunk size after a space', chunked(' 2\r\n{}\r\n0\r\n\r\n'), [MALFORMED]],
      ['a chunk longer than its size', chunked('1\r\n{}\r\n0\r\n\r\n'), [MALFORMED]],
      ['a chunk without its CRLF', chunked('2\r\n{}XX0\r\n\r\n'), [MALFORMED]],
      [
        '20,000 headers',
        `GET /healthz HTTP/1.1\r\nHost: x\r\n${'X-Flood: a\r\n'.repeat(20_000)}\r\n`,
        [TOO_LARGE_HEAD],
      ],
      [
        'a header of 100 kB',
        request('GET', '/healthz', { headers: { 'X-Big': 'a'.repeat(100_000) } }),
        [TOO_LARGE_HEAD],
      ],
      ['a target of 100 kB', request('GET', `/trpc/${'a'.repeat(100_000)}`), [TOO_LARGE_HEAD]],
      // Node answers this one itself, with an empty body.
      [
        'HTTP/1.1 without Host',
        'GET /healthz HTTP/1.1\r\n\r\n',
        [{ status: 400, empty: true, headers: { connection: 'close' } }],
      ],
    ];
    const before = await snapshot();
    for (const [label, bytes, expected] of cases) {
      expectExchange(await exchange(api.url, bytes), expected, label);
    }
    // Cut short, then half-closed: the request cannot be finished, and the server says so.
    const cut: [string, string][] = [
      ['headers cut off', `POST ${create} HTTP/1.1\r\nHost: x\r\nContent-Le`],
      ['a body cut short', withLength('100', '{"name":"cut"}')],
      ['a chunked body cut short', chunked('10\r\n{"name":"cut"}\r\n')],
      ['a request line alone', 'GET /healthz\r\n'],
    ];
    for (const [label, bytes] of cut) {
      expectExchange(await exchange(api.url, bytes, { end: true }), [MALFORMED], label);
    }
    // Dropped mid-body: there is no one to answer; the server must just forget it.
    await exchange(api.url, withLength('1000', '{"name":"dropped'), { destroy: true });
    // CONNECT is no request for this server: Node closes the connection without a word.
    for (const target of ['127.0.0.1:22', '/trpc/user.me']) {
      expectExchange(
        await exchange(api.url, request('CONNECT', target, { headers: auth })),
        [],
        `CONNECT ${target}`,
      );
    }
    // None of it reached a procedure: not even the caller's own row was made.
    expect(await changesSince(before)).toEqual(only({}));
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
  });

  it('answers odd but parseable HTTP exactly: versions, methods, headers, pipelining', async () => {
    const username = user('http');
    const token = await tokenFor(username);
    const auth = { Authorization: `Bearer ${token}` };
    const json = { ...auth, 'Content-Type': 'application/json' };
    const healthy: Expected = { status: 200, json: { status: 'ok' } };
    const ok: Expected = { status: 200, codes: 'OK' };
    const noRoute: Expected = { status: 404, json: { statusCode: 404, error: 'not found' } };
    const unauthorized: Expected = { status: 401, codes: 'UNAUTHORIZED' };
    const badInput: Expected = { status: 400, codes: 'BAD_REQUEST' };
    const me = (last = true) => request('GET', '/trpc/user.me', { headers: auth, last });

    const cases: [string, string, Expected[]][] = [
      ['HTTP/1.0', 'GET /healthz HTTP/1.0\r\n\r\n', [healthy]],
      [
        'HTTP/1.0 to tRPC',
        `GET /trpc/user.me HTTP/1.0\r\nAuthorization: Bearer ${token}\r\n\r\n`,
        [ok],
      ],
      ['a request line without a version', 'GET /healthz\r\n\r\n', [healthy]],
      ['empty lines before the request', `\r\n\r\n${request('GET', '/healthz')}`, [healthy]],
      [
        'an absolute-form target',
        request('GET', 'http://elsewhere.test/trpc/user.me', { headers: auth }),
        [ok],
      ],
      ['OPTIONS *', request('OPTIONS', '*'), [noRoute]],
      ['TRACE /healthz', request('TRACE', '/healthz'), [noRoute]],
      [
        '1,000 small headers (under the limit)',
        request('GET', '/trpc/user.me', {
          headers: {
            ...auth,
            ...Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`X-${i}`, 'a'])),
          },
        }),
        [ok],
      ],
      [
        'an Authorization header of 15 kB',
        request('GET', '/trpc/user.me', {
          headers: { Authorization: `Bearer ${'a'.repeat(15_000)}` },
        }),
        [unauthorized],
      ],
      [
        'a forged Authorization before a good one (the first counts)',
        `GET /trpc/user.me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer forged\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
        [unauthorized],
      ],
      [
        'Basic instead of Bearer',
        request('GET', '/trpc/user.me', { headers: { Authorization: 'Basic YTpi' } }),
        [unauthorized],
      ],
      [
        'JSON, then text/plain as Content-Type (the first counts)',
        `POST /trpc/message.send HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
        [badInput],
      ],
      [
        'three pipelined requests',
        request('GET', '/healthz', { last: false }) + me(false) + request('GET', '/healthz'),
        [healthy, ok, healthy],
      ],
      [
        'a Content-Length one short (the rest is read as the next request)',
        request('POST', '/trpc/message.send', {
          headers: { ...json, 'Content-Length': '1' },
          body: '{}',
          last: false,
        }),
        [badInput, MALFORMED],
      ],
      [
        'Content-Length 0, and then a body',
        request('POST', '/trpc/message.send', {
          headers: { ...json, 'Content-Length': '0' },
          body: '{}',
          last: false,
        }),
        [badInput, MALFORMED],
      ],
    ];
    // Other methods on a procedure get tRPC's own answers (415 before 405 without a content type).
    // TRACE, which tRPC's handler cannot represent, is refused before it.
    for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      for (const path of ['user.me', 'conversation.create']) {
        cases.push(
          [
            `${method} ${path}`,
            request(method, `/trpc/${path}`, { headers: json, body: '{}' }),
            [{ status: 405, codes: 'METHOD_NOT_SUPPORTED' }],
          ],
          [
            `${method} ${path} without a content type`,
            request(method, `/trpc/${path}`, { headers: auth }),
            [{ status: 415, codes: 'UNSUPPORTED_MEDIA_TYPE' }],
          ],
        );
      }
      cases.push([
        `${method} on no procedure`,
        request(method, '/trpc/nope', { headers: json, body: '{}' }),
        [{ status: 404, codes: 'NOT_FOUND' }],
      ]);
    }
    for (const path of ['user.me', 'conversation.create', 'nope']) {
      const target = `/trpc/${path}`;
      cases.push(
        [
          `TRACE ${path}`,
          request('TRACE', target, { headers: auth }),
          [{ status: 405, codes: 'METHOD_NOT_SUPPORTED', headers: { allow: 'GET, POST' } }],
        ],
        [
          `TRACE ${path} batched`,
          request('TRACE', `${target},user.me?batch=1`, { headers: auth }),
          [{ status: 405, codes: ['METHOD_NOT_SUPPORTED', 'METHOD_NOT_SUPPORTED'] }],
        ],
      );
    }
    cases.push([
      'PROPFIND, which fastify routes nowhere',
      request('PROPFIND', '/trpc/user.me', { headers: auth }),
      [{ status: 404, codes: 'NOT_FOUND' }],
    ]);

    const before = await snapshot();
    for (const [label, bytes, expected] of cases) {
      expectExchange(await exchange(api.url, bytes), expected, label);
    }
    // HEAD: tRPC answers 204 without running anything, whatever the path.
    for (const path of ['user.me', 'conversation.create', 'nope']) {
      const got = await exchange(api.url, request('HEAD', `/trpc/${path}`, { headers: auth }), {
        head: true,
      });
      expectExchange(got, [{ status: 204, empty: true }], `HEAD ${path}`);
    }

    // Garbage after pipelined calls is answered after them: a client never reads the 400 as the
    // answer to a call that ran (it did, while the first call still ran).
    const create = (name: string) =>
      request('POST', '/trpc/conversation.create', {
        headers: json,
        body: JSON.stringify({ name }),
        last: false,
      });
    const made: number[] = [];
    for (const requests of [
      [create('piped a')],
      [create('piped b'), me(false), create('piped c')],
    ]) {
      const got = await exchange(api.url, `${requests.join('')}GARBAGE\r\n\r\n`);
      expectExchange(
        got,
        [...requests.map(() => ok), MALFORMED],
        `${requests.length} pipelined, then garbage`,
      );
      for (const answer of got.answers) made.push(...conversationIds(parsed(answer.body)));
    }
    expect(made).toHaveLength(3);
    // Twenty pipelined calls come back in order.
    const twenty = Array.from({ length: 20 }, (_, i) =>
      request(
        'GET',
        `/trpc/conversation.list?input=${encodeURIComponent(JSON.stringify({ limit: i + 1 }))}`,
        {
          headers: auth,
          last: i === 19,
        },
      ),
    );
    const got = await exchange(api.url, twenty.join(''));
    expectExchange(
      got,
      twenty.map(() => ok),
      'twenty pipelined',
    );
    expect(
      got.answers.map((a) => resultOf(parsed(a.body), conversationPageSchema).items.length),
    ).toEqual(twenty.map((_, i) => Math.min(i + 1, made.length)));
    expect(await changesSince(before)).toEqual(only({ users: [username], conversations: made }));
  });

  it('refuses a body over BODY_LIMIT_BYTES with 413, and reads one at the limit, single or batched', async () => {
    const username = user('big');
    const token = await tokenFor(username);
    const padded = (size: number, prefix: string, suffix: string) =>
      `${prefix}${'a'.repeat(size - prefix.length - suffix.length)}${suffix}`;
    const before = await snapshot();

    // At the limit: read whole, then refused by validation (a name far too long).
    const atLimit = padded(BODY_LIMIT, '{"name":"', '"}');
    expectCodes(
      await call(api, 'conversation.create', { token, body: atLimit }),
      'BAD_REQUEST',
      'a name filling the limit',
    );
    expectCodes(
      await call(api, 'conversation.create?batch=1', {
        token,
        body: padded(BODY_LIMIT, '{"0":{"name":"', '"}}'),
      }),
      ['BAD_REQUEST'],
      'a batched name filling the limit',
    );
    // Whitespace up to the limit after a valid input: parsed to its end (the victim is not ours).
    const toVictim = JSON.stringify({ conversationId: victim.conversationId, content: 'x' });
    expectCodes(
      await call(api, 'message.send', { token, body: toVictim.padEnd(BODY_LIMIT, ' ') }),
      'NOT_FOUND',
      'a valid input padded to the limit',
    );
    // Over it, by one byte or by many, single or batched: 413, and the answer reaches the client
    // (a server that closed at once often lost it to a TCP reset: fetch failed instead; so, often).
    const sizes = [
      ...Array.from({ length: 6 }, () => BODY_LIMIT + 1),
      2 * BODY_LIMIT,
      10 * BODY_LIMIT,
    ];
    for (const size of sizes) {
      expectCodes(
        await call(api, 'conversation.create', { token, body: padded(size, '{"name":"', '"}') }),
        'PAYLOAD_TOO_LARGE',
        `a body of ${size} bytes`,
      );
      if (size > 2 * BODY_LIMIT) continue;
      expectCodes(
        await call(api, 'conversation.create,conversation.create?batch=1', {
          token,
          body: padded(size, '{"0":{"name":"', '"},"1":{}}'),
        }),
        ['PAYLOAD_TOO_LARGE', 'PAYLOAD_TOO_LARGE'],
        `a batch of ${size} bytes`,
      );
    }
    // Chunked, so the server counts as it reads, with and without the client's own
    // `Connection: close`; and a length announced but never sent.
    const headers = { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' };
    const chunked = (size: number, last: boolean) => {
      const body = padded(size, '{"name":"', '"}');
      return request('POST', '/trpc/conversation.create', {
        headers: { ...headers, 'Transfer-Encoding': 'chunked' },
        body: `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
        last,
      });
    };
    expectExchange(
      await exchange(api.url, chunked(BODY_LIMIT, true)),
      [{ status: 400, codes: 'BAD_REQUEST' }],
      'chunked at the limit',
    );
    // Said with `connection: close`, so no client sends its next call on this connection.
    const tooLarge: Expected = {
      status: 413,
      codes: 'PAYLOAD_TOO_LARGE',
      headers: { connection: 'close' },
    };
    for (const last of [false, true]) {
      expectExchange(
        await exchange(api.url, chunked(BODY_LIMIT + 1, last)),
        [tooLarge],
        `chunked over the limit${last ? ', Connection: close' : ''}`,
      );
    }
    const announced = request('POST', '/trpc/conversation.create', {
      headers: { ...headers, 'Content-Length': String(BODY_LIMIT + 1) },
      last: false,
    });
    expectExchange(
      await exchange(api.url, announced),
      [tooLarge],
      'a Content-Length over the limit, body not sent',
    );

    // Huge inside valid JSON: 4 MB of emoji, a key of 1 MB, 200,000 keys.
    const emoji = '😀'.repeat(Math.floor((BODY_LIMIT - 100) / 4));
    expectCodes(
      await call(api, 'message.send', {
        token,
        body: JSON.stringify({ conversationId: victim.conversationId, content: emoji }),
      }),
      'BAD_REQUEST',
      'content of 4 MB of emoji',
    );
    expectCodes(
      await call(api, 'conversation.create', { token, body: `{"${'k'.repeat(MiB)}":1}` }),
      'BAD_REQUEST',
      'a key of 1 MB',
    );
    const manyKeys = `{${Array.from({ length: 200_000 }, (_, i) => `"k${i}":${i}`).join(',')}}`;
    expectCodes(
      await call(api, 'conversation.create', { token, body: manyKeys }),
      'BAD_REQUEST',
      '200,000 keys',
    );
    // Only the padded send reached a procedure (NOT_FOUND), which makes the caller's row.
    expect(await changesSince(before)).toEqual(only({ users: [username] }));
  });

  it('caps a batch by the calls its URL names: over MAX_BATCH_SIZE refused whole, extra inputs unused', async () => {
    const username = user('batch');
    const token = await tokenFor(username);
    const tenThousand = JSON.stringify(
      Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [i, { name: `n${i}` }])),
    );
    const before = await snapshot();
    // Over the cap: refused whole by tRPC (400), by fastify when the path is over its parameter
    // limit (414), by Node when the request line is over its header limit (431).
    for (const calls of [MAX_BATCH + 1, 300, 1_000, 10_000]) {
      const paths = Array.from({ length: calls }, () => 'conversation.create').join(',');
      const status =
        paths.length > MAX_HEADER_BYTES ? 431 : paths.length > MAX_PATH_PARAM ? 414 : 400;
      const answer = await call(api, `${paths}?batch=1`, { token, body: tenThousand });
      expect(answer.status, `${calls} calls`).toBe(status);
      expect(new Set([codesOf(answer.body)].flat()), `${calls} calls`).toEqual(
        new Set(['BAD_REQUEST']),
      );
    }
    // At the cap or under it, with 10,000 inputs: exactly the named calls run, with inputs 0..n-1.
    const made: number[] = [];
    for (const calls of [1, MAX_BATCH]) {
      const paths = Array.from({ length: calls }, () => 'conversation.create').join(',');
      const answer = await call(api, `${paths}?batch=1`, { token, body: tenThousand });
      expectCodes(
        answer,
        Array.from({ length: calls }, () => 'OK' as const),
        `${calls} calls`,
      );
      const names = (answer.body as unknown[]).map(
        (item) => resultOf(item, conversationSchema).name,
      );
      expect(names).toEqual(Array.from({ length: calls }, (_, i) => `n${i}`));
      made.push(...conversationIds(answer.body));
    }
    expect(await changesSince(before)).toEqual(only({ users: [username], conversations: made }));
  });

  it('parses deeply nested input without a stack overflow: 10 to 1,000,000 levels, closed or not', async () => {
    const token = await tokenFor(user('deep'));
    const before = await snapshot();
    const nest = (depth: number, open: string, close: string, closed: boolean) =>
      `${open.repeat(depth)}1${closed ? close.repeat(depth) : ''}`;
    const code = (body: string): Code =>
      Buffer.byteLength(body) > BODY_LIMIT ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST';
    for (const [open, close] of [
      ['[', ']'],
      ['{"a":', '}'],
    ] as const) {
      for (const closed of [true, false]) {
        for (const depth of [10, 1_000, 100_000, 1_000_000]) {
          const text = nest(depth, open, close, closed);
          const label = `${depth} × ${open} ${closed ? 'closed' : 'unclosed'}`;
          // As the whole input; below a million levels also as a field, to a procedure that
          // takes none, and batched.
          const calls: [string, string][] = [['conversation.create', text]];
          if (depth < 1_000_000) {
            calls.push(
              ['conversation.create', `{"name":${text}}`],
              ['user.delete', text],
              ['conversation.create?batch=1', `{"0":${text}}`],
            );
          }
          for (const [path, body] of calls) {
            const expected = path.endsWith('batch=1') ? [code(body)] : code(body);
            expectCodes(await call(api, path, { token, body }), expected, `${label} to ${path}`);
          }
        }
        // In a query's URL: read when it fits Node's header limit, refused (431) when far over it.
        for (const depth of [10, 500, 100_000]) {
          const query = `conversation.list?input=${encodeURIComponent(nest(depth, open, close, closed))}`;
          const answer = await call(api, query, { token });
          const label = `${depth} × ${open} ${closed ? 'closed' : 'unclosed'} in the URL`;
          if (query.length < MAX_HEADER_BYTES / 2) expectCodes(answer, 'BAD_REQUEST', label);
          else {
            expect(answer.status, label).toBe(431);
            expect(codesOf(answer.body), label).toBe('BAD_REQUEST');
          }
        }
      }
    }
    // Every call was refused before a procedure ran: not even the caller's row was made.
    expect(await changesSince(before)).toEqual(only({}));
  });

  it('answers odd paths and query strings with NOT_FOUND or BAD_REQUEST, running only named calls', async () => {
    const username = user('paths');
    const token = await tokenFor(username);
    const auth = { Authorization: `Bearer ${token}` };
    const json = { ...auth, 'Content-Type': 'application/json' };
    const notFound: Expected = { status: 404, codes: 'NOT_FOUND' };
    const before = await snapshot();
    const expectAt = async (method: 'GET' | 'POST', target: string, expected: Expected) => {
      const init = method === 'GET' ? { headers: auth } : { headers: json, body: '{}' };
      expectExchange(
        await exchange(api.url, request(method, target, init)),
        [expected],
        `${method} ${target.slice(0, 120)}`,
      );
    };
    for (const path of UNKNOWN_PATHS) {
      await expectAt('GET', `/trpc/${path}`, notFound);
      await expectAt('POST', `/trpc/${path}`, notFound);
    }
    // With a slash, no tRPC route matches: the server's own NOT_FOUND.
    for (const path of ['/', 'user.me/', 'user.me/extra', '%2E%2E/%2e%2e/healthz', '../healthz']) {
      await expectAt('GET', `/trpc/${path}`, notFound);
      await expectAt('POST', `/trpc/${path}`, notFound);
    }
    // Undecodable (400), or over fastify's path parameter limit (414).
    for (const path of ['%', '%zz', 'user.me%', '%E0%A4', 'a'.repeat(MAX_PATH_PARAM + 1)]) {
      await expectAt('GET', `/trpc/${path}`, {
        status: path.length > MAX_PATH_PARAM ? 414 : 400,
        codes: 'BAD_REQUEST',
      });
    }
    const queries: [string, Expected][] = [
      // Batches: an empty name is NOT_FOUND on its own and the others run; mixed kinds are refused.
      ['user.me,,user.me?batch=1', { status: 207, codes: ['OK', 'NOT_FOUND', 'OK'] }],
      ['user.me,?batch=1', { status: 207, codes: ['OK', 'NOT_FOUND'] }],
      [',user.me?batch=1', { status: 207, codes: ['NOT_FOUND', 'OK'] }],
      [',?batch=1', { status: 404, codes: ['NOT_FOUND', 'NOT_FOUND'] }],
      ['?batch=1', { status: 404, codes: ['NOT_FOUND'] }],
      ['__proto__,constructor?batch=1', { status: 404, codes: ['NOT_FOUND', 'NOT_FOUND'] }],
      ['user.me,conversation.create?batch=1', { status: 400, codes: 'BAD_REQUEST' }],
      ['user.me,user.me', notFound],
      // Repeated or odd parameters: the first value counts, as with URLSearchParams.
      ['user.me?batch=1&batch=0', { status: 200, codes: ['OK'] }],
      ['user.me?batch=0&batch=1', { status: 200, codes: 'OK' }],
      ['user.me?%62atch=1', { status: 200, codes: ['OK'] }],
      ['user.me?batch=true', { status: 200, codes: 'OK' }],
      ['user.me?batch', { status: 200, codes: 'OK' }],
      ['conversation.list?input=%7B%7D&input=x', { status: 200, codes: 'OK' }],
      ['conversation.list?input=x&input=%7B%7D', { status: 400, codes: 'BAD_REQUEST' }],
      ['conversation.list?input', { status: 200, codes: 'OK' }],
      ['user.me?input=%', { status: 400, codes: 'BAD_REQUEST' }],
      ['user.me?x=%', { status: 200, codes: 'OK' }],
      [
        `user.me?${Array.from({ length: 1_000 }, (_, i) => `k${i}=${i}`).join('&')}`,
        { status: 200, codes: 'OK' },
      ],
      // A batch input that is no object.
      ...['1', '%22x%22', '%5B%5D', 'null', 'true'].map((input): [string, Expected] => [
        `user.me?batch=1&input=${input}`,
        { status: 400, codes: ['BAD_REQUEST'] },
      ]),
    ];
    for (const [target, expected] of queries) await expectAt('GET', `/trpc/${target}`, expected);
    expect(await changesSince(before)).toEqual(only({ users: [username] }));
  });

  it('takes __proto__ and constructor keys as plain data: refused or unused, never merged', async () => {
    const username = user('proto');
    const token = await tokenFor(username);
    const marker = `polluted-${front}-${Date.now()}`;
    const poison = JSON.stringify({
      polluted: marker,
      name: marker,
      conversationId: victim.conversationId,
      id: victim.conversationId,
      limit: 1,
      0: { name: marker },
    });
    const carriers = [
      `{"__proto__":${poison}}`,
      `{"constructor":{"prototype":${poison}}}`,
      `{"__proto__":{"__proto__":${poison}}}`,
      `{"a":{"__proto__":${poison}},"constructor":{"prototype":{"__proto__":${poison}}}}`,
    ];
    const before = await snapshot();
    const answers: Answer[] = [];
    for (const carrier of carriers) {
      for (const target of [...TARGETS, CREATE]) {
        // As the input, merged into a valid input, and as a batch's envelope (which names no call 0).
        const valid = objectText(target.base()).slice(1, -1);
        const merged = valid === '' ? carrier : `{${valid},${carrier.slice(1)}`;
        for (const text of [carrier, merged]) {
          const answer = await send(api, target, text, token);
          // Exactly what JSON.parse (which keeps __proto__ as a plain key) and the schema say.
          expectCodes(
            answer,
            expectedFor(target, text, target.kind === 'mutation' ? 'POST' : 'GET'),
            `${target.path} ${text}`,
          );
          answers.push(answer);
        }
        const batched =
          target.kind === 'mutation'
            ? await call(api, `${target.path}?batch=1`, { token, body: carrier })
            : await call(api, `${target.path}?batch=1&input=${encodeURIComponent(carrier)}`, {
                token,
              });
        // Call 0 ran without input: a valid call for those that take none or an optional one.
        const optional = target.schema.safeParse(undefined).success;
        expectCodes(
          batched,
          [optional ? target.valid : 'BAD_REQUEST'],
          `${target.path} in ${carrier}`,
        );
        answers.push(batched);
      }
    }
    for (const answer of answers) expect(JSON.stringify(answer.body)).not.toContain(marker);
    // Had any of it reached Object.prototype, these would show an inherited name, id or limit.
    const created = await call(api, 'conversation.create', { token, body: '{}' });
    expect(resultOf(created.body, conversationSchema).name).toBeNull();
    const batch = await call(api, 'conversation.create?batch=1', { token, body: '{}' });
    expect(resultOf((batch.body as unknown[])[0], conversationSchema).name).toBeNull();
    expectCodes(
      await call(api, 'message.send', { token, body: '{"content":"x"}' }),
      'BAD_REQUEST',
      'no conversationId',
    );
    expectCodes(await call(api, 'conversation.get', { token }), 'BAD_REQUEST', 'no id');
    expectCodes(await call(api, 'polluted', { token }), 'NOT_FOUND', 'a polluted path');
    const made = [...answers, created, batch].flatMap((answer) => conversationIds(answer.body));
    const page = resultOf(
      (await call(api, 'conversation.list', { token })).body,
      conversationPageSchema,
    );
    expect(page.items).toHaveLength(Math.min(20, made.length)); // the default limit, not 1
    expect(await changesSince(before)).toEqual(only({ users: [username], conversations: made }));
  });

  it('answers every kind of JSON value in every input position exactly (a batched sweep)', async () => {
    const prober = user('values');
    const creator = user('values-create');
    const tokens = { probe: await tokenFor(prober), create: await tokenFor(creator) };
    const before = await snapshot();
    const made: number[] = [];
    let calls = 0;
    for (const target of [...TARGETS, CREATE]) {
      const base = target.base();
      const texts = VALUE_TEXTS.flatMap((value) => [
        value,
        ...Object.keys(base).map((field) => objectText({ ...base, [field]: value })),
      ]);
      const token = target === CREATE ? tokens.create : tokens.probe;
      // Batches of up to MAX_BATCH calls; a query's stays well inside the URL limit.
      for (let start = 0; start < texts.length;) {
        const group: string[] = [];
        let urlLength = 0;
        for (; start < texts.length && group.length < MAX_BATCH; start++) {
          const text = texts[start] ?? '';
          urlLength += encodeURIComponent(text).length + 10;
          if (target.kind === 'query' && group.length > 0 && urlLength > 8_000) break;
          group.push(text);
        }
        const envelope = `{${group.map((text, i) => `"${i}":${text}`).join(',')}}`;
        const path = `${group.map(() => target.path).join(',')}?batch=1`;
        const answer =
          target.kind === 'mutation'
            ? await call(api, path, { token, body: envelope })
            : await call(api, `${path}&input=${encodeURIComponent(envelope)}`, { token });
        const expected = group.map((text) => expectedFor(target, text, 'POST'));
        expectCodes(
          answer,
          expected,
          `${target.path} ×${group.length}: ${group.join(' ').slice(0, 300)}`,
        );
        if (target === CREATE) made.push(...conversationIds(answer.body));
        calls += group.length;
      }
    }
    expect(calls).toBeGreaterThan(1_500);
    expect(await changesSince(before)).toEqual(
      only({ users: [prober, creator], conversations: made }),
    );
  });

  it(
    `answers generated inputs exactly, one call at a time (${RUNS} runs)`,
    async () => {
      const prober = user('generated');
      const creator = user('generated-create');
      const tokens = { probe: await tokenFor(prober), create: await tokenFor(creator) };
      const before = await snapshot();
      const made: number[] = [];
      // A user's row is made by the first of its calls that reaches a procedure.
      const ran = new Set<string>();
      const cases = fc
        .constantFrom(...TARGETS, CREATE)
        .chain((target) =>
          fc.tuple(fc.constant(target), inputText(target.base()), fc.boolean(), fc.boolean()),
        );
      await fc.assert(
        fc.asyncProperty(cases, async ([target, text, bom, plus]) => {
          const sent = bom ? `\uFEFF${text}` : text;
          const username = target === CREATE ? creator : prober;
          const answer = await send(
            api,
            target,
            sent,
            target === CREATE ? tokens.create : tokens.probe,
            plus,
          );
          const expected = expectedFor(target, sent, target.kind === 'mutation' ? 'POST' : 'GET');
          expectCodes(answer, expected, `${target.path} ${JSON.stringify(sent).slice(0, 300)}`);
          if (expected !== 'BAD_REQUEST') ran.add(username);
          if (target === CREATE) made.push(...conversationIds(answer.body));
        }),
        { numRuns: RUNS },
      );
      expect(await changesSince(before)).toEqual(only({ users: [...ran], conversations: made }));
    },
    60_000 + RUNS * 20,
  );

  it(
    `keeps memory flat under ${512 * SCALE} MiB of hostile input`,
    async ({ annotate }) => {
      const username = user('memory');
      const token = await tokenFor(username);
      const before = await snapshot();
      // Warm up first: code compiled, caches filled, every kind of answer given once.
      await pushHostile(api, token, 64 * MiB);
      const start = await liveMemory(api);
      const { pushed, requests } = await pushHostile(api, token, 512 * SCALE * MiB);
      const end = await liveMemory(api);
      const mb = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
      await annotate(
        `${front}: pushed ${mb(pushed)} in ${requests} requests; live heap ${mb(start.heap)} → ${mb(end.heap)}, RSS ${mb(start.rss)} → ${mb(end.rss)}`,
      );
      expect(pushed).toBeGreaterThanOrEqual(512 * SCALE * MiB);
      // Over some 2,000 requests, a leak of 8 kB per request would pass 16 MiB of heap; keeping one
      // body in a hundred would pass it many times over.
      expect(end.heap - start.heap, `heap ${mb(start.heap)} → ${mb(end.heap)}`).toBeLessThan(
        16 * MiB,
      );
      expect(end.rss - start.rss, `RSS ${mb(start.rss)} → ${mb(end.rss)}`).toBeLessThan(64 * MiB);
      expect(await changesSince(before)).toEqual(only({ users: [username] }));
    },
    60_000 * SCALE,
  );

  it('still serves: /healthz, /readyz, and user.me and message.send through the real client', async () => {
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${api.url}/readyz`)).status).toBe(200);
    const username = user('after');
    const authorization = `Bearer ${await tokenFor(username)}`;
    const client = createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url: `${api.url}/trpc`, headers: () => ({ authorization }) })],
    });
    const before = await snapshot();
    expect((await client.user.me.query()).username).toBe(username);
    const conversation = await client.conversation.create.mutate({ name: 'after the fuzz' });
    const message = await client.message.send.mutate({
      conversationId: conversation.id,
      content: 'still here 😀',
    });
    expect(message).toMatchObject({
      conversationId: conversation.id,
      role: 'user',
      content: 'still here 😀',
    });
    expect(await changesSince(before)).toEqual(
      only({ users: [username], conversations: [conversation.id], messages: [message.id] }),
    );
    // Nothing failed inside: no 500 was logged, and the process is still the one started.
    expect(api.output()).not.toMatch(/"level":(50|60)/);
    expect(api.child.exitCode).toBeNull();
  });
});
