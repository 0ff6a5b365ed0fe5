// Identity, end to end through the real HTTP server: which bearer tokens are accepted (HS256 with a
// shared secret, or a JWKS with issuer and audience checked), that a refused call touches nothing,
// just-in-time users, and the development secret. See docs "Identity" in the api contract.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from '@chat/db';
import { useTestDatabase } from '@chat/db/testing';
import { createTRPCClient, httpLink } from '@trpc/client';
import {
  SignJWT,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEV_SECRET_FILE, resolveKeySource } from '../src/auth/secret.js';
import { envSchema, type Env } from '../src/env.js';
import type { AppRouter } from '../src/root.js';
import {
  TEST_SECRET,
  clientFor,
  codeOf,
  rawCall,
  startServer,
  tokenFor,
  type RunningServer,
  type TestClient,
} from './server-harness.js';

const db = useTestDatabase();
const encoder = new TextEncoder();

/** jose's clock tolerance in tokens.ts is 5 s; "beyond tolerance" cases use a minute. */
const BEYOND_TOLERANCE_S = 60;
/** tokens.ts: jose refetches the key set for an unknown kid at most once per 30 s. */
const JWKS_COOLDOWN_MS = 30_000;

const nowSeconds = (): number => Math.floor(Date.now() / 1000);
const unique = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

/** Claims valid for an hour unless overridden (a key set to undefined is left out). */
function claims(overrides: JWTPayload = {}): JWTPayload {
  const now = nowSeconds();
  return { iat: now, exp: now + 3_600, ...overrides };
}

async function hs256(
  payload: JWTPayload,
  secret: string | Uint8Array = TEST_SECRET,
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(typeof secret === 'string' ? encoder.encode(secret) : secret);
}

/** An unsecured JWT, built by hand: jose will not sign one. */
function unsecured(payload: JWTPayload): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.`;
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public JWK as a key set serves it. */
  jwk: JWK;
}

async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicKey, jwk };
}

async function rs256(key: SigningKey, payload: JWTPayload, kid = key.kid): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid })
    .sign(key.privateKey);
}

/** A real tRPC client (unbatched) that sends exactly this Authorization header. */
function clientWith(server: RunningServer, authorization: string): TestClient {
  return createTRPCClient<AppRouter>({
    links: [httpLink({ url: `${server.url}/trpc`, headers: () => ({ authorization }) })],
  });
}

/** `user.me` with `Bearer <token>`: the tRPC error code, or 'ok'. */
function meWith(server: RunningServer, token: string): Promise<string> {
  return codeOf(clientWith(server, `Bearer ${token}`).user.me.query());
}

async function countUsers(server: RunningServer, username?: string): Promise<number> {
  const connection = server.orm.em.fork().getConnection();
  const [row] =
    username === undefined
      ? await connection.execute<{ n: number }[]>('select count(*)::int as n from users')
      : await connection.execute<{ n: number }[]>(
          'select count(*)::int as n from users where username = ?',
          [username],
        );
  return row?.n ?? -1;
}

async function storedEmail(
  server: RunningServer,
  username: string,
): Promise<string | null | undefined> {
  const [row] = await server.orm.em
    .fork()
    .getConnection()
    .execute<{ email: string | null }[]>('select email from users where username = ?', [username]);
  return row?.email;
}

function trpcErrorCode(body: unknown): unknown {
  return (body as { error?: { data?: { code?: unknown } } } | null)?.error?.data?.code;
}

/**
 * Proves a refusal: UNAUTHORIZED, and no `users` row appeared (none at all, and none for the
 * username the token names when it names one).
 */
async function expectRefusedAndUntouched(
  server: RunningServer,
  token: string,
  username?: string,
): Promise<void> {
  const before = await countUsers(server);
  expect(await meWith(server, token)).toBe('UNAUTHORIZED');
  expect(await countUsers(server)).toBe(before);
  if (username !== undefined) expect(await countUsers(server, username)).toBe(0);
}

/** A JWKS endpoint on loopback whose keys the test swaps; counts the fetches it answers. */
class JwksServer {
  fetches = 0;
  port = 0;
  private keys: JWK[];
  private readonly server: Server = createServer((request, response) => {
    if (request.url !== '/jwks.json') {
      response.writeHead(404).end();
      return;
    }
    this.fetches++;
    response
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ keys: this.keys }));
  });

  constructor(keys: JWK[]) {
    this.keys = keys;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/jwks.json`;
  }

  serve(keys: JWK[]): void {
    this.keys = keys;
  }

  async listen(port = 0): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address();
    if (!address || typeof address !== 'object') throw new Error('JWKS server has no address');
    this.port = address.port;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => {
      this.server.close((error) => {
        if (error) reject(error);
        else resolve();
      });
    });
  }
}

let server: RunningServer;

beforeAll(async () => {
  server = await startServer(db.url);
});
afterAll(async () => {
  await server.close();
});

describe('HS256 with AUTH_SECRET', () => {
  it('accepts a valid token: user.me answers as its sub and creates the row', async () => {
    const username = unique('valid');
    const me = await (await clientFor(server, username)).user.me.query();
    expect(me.username).toBe(username);
    expect(await countUsers(server, username)).toBe(1);
  });

  it('refuses a call without an Authorization header with 401 UNAUTHORIZED and creates nothing', async () => {
    const before = await countUsers(server);
    const response = await rawCall(server, 'user.me');
    expect(response.status).toBe(401);
    expect(trpcErrorCode(response.body)).toBe('UNAUTHORIZED');
    expect(await countUsers(server)).toBe(before);
  });

  it.each([
    ['Basic', (token: string) => `Basic ${Buffer.from(`user:${token}`).toString('base64')}`],
    ['Token', (token: string) => `Token ${token}`],
    ['no scheme', (token: string) => token],
  ])(
    'refuses a valid token under a non-Bearer scheme (%s) with UNAUTHORIZED and creates nothing',
    async (_scheme, header) => {
      const username = unique('scheme');
      const before = await countUsers(server);
      const response = await rawCall(server, 'user.me', {
        headers: { authorization: header(await tokenFor(username)) },
      });
      expect(response.status).toBe(401);
      expect(trpcErrorCode(response.body)).toBe('UNAUTHORIZED');
      expect(await countUsers(server)).toBe(before);
      expect(await countUsers(server, username)).toBe(0);
    },
  );

  const refused: [string, (username: string) => Promise<string> | string][] = [
    ['a garbage token', () => 'not-a.jwt-at.all'],
    [
      'an expired token (exp beyond the 5 s tolerance)',
      (sub) => hs256(claims({ sub, exp: nowSeconds() - BEYOND_TOLERANCE_S })),
    ],
    [
      'a not-yet-valid token (nbf beyond the 5 s tolerance)',
      (sub) => hs256(claims({ sub, nbf: nowSeconds() + BEYOND_TOLERANCE_S })),
    ],
    [
      'a token signed with another secret',
      (sub) => hs256(claims({ sub }), 'another-secret-that-is-also-long-enough!!'),
    ],
    ['an unsecured alg:none token', (sub) => unsecured(claims({ sub }))],
    [
      'an RS256 token (no HS/RS confusion: HS256 mode refuses asymmetric tokens)',
      async (sub) => rs256(await signingKey('rs-in-hs-mode'), claims({ sub })),
    ],
    ['a token without sub', () => hs256(claims())],
    ['a token whose sub is not a string', () => hs256(claims({ sub: 12345 as unknown as string }))],
    [
      'a token whose sub contains a NUL character',
      (sub) => hs256(claims({ sub: `${sub}\u0000x` })),
    ],
    [
      'a token whose sub has 256 characters',
      (sub) => hs256(claims({ sub: `${sub}-`.padEnd(256, 'x') })),
    ],
  ];

  it.each(refused)('refuses %s with UNAUTHORIZED and creates nothing', async (_case, makeToken) => {
    const username = unique('refused');
    await expectRefusedAndUntouched(server, await makeToken(username), username);
  });

  it('accepts a sub of exactly 255 characters (the longest username)', async () => {
    const username = unique('long').padEnd(255, 'y');
    expect(await meWith(server, await hs256(claims({ sub: username })))).toBe('ok');
    expect(await countUsers(server, username)).toBe(1);
  });

  it('allows 5 s of clock skew on exp and nbf', async () => {
    const username = unique('skew');
    const now = nowSeconds();
    expect(await meWith(server, await hs256(claims({ sub: username, exp: now - 1 })))).toBe('ok');
    expect(await meWith(server, await hs256(claims({ sub: username, nbf: now + 1 })))).toBe('ok');
  });

  describe('with AUTH_ISSUER and AUTH_AUDIENCE set', () => {
    const issuer = 'https://issuer.example.test';
    const audience = 'chat-api';
    let checked: RunningServer;

    beforeAll(async () => {
      checked = await startServer(db.url, { AUTH_ISSUER: issuer, AUTH_AUDIENCE: audience });
    });
    afterAll(async () => {
      await checked.close();
    });

    it('accepts a token with the configured issuer and audience', async () => {
      const username = unique('iss-ok');
      expect(
        await meWith(checked, await hs256(claims({ sub: username, iss: issuer, aud: audience }))),
      ).toBe('ok');
      expect(await countUsers(checked, username)).toBe(1);
    });

    it.each([
      ['a wrong issuer', { iss: 'https://evil.example.test', aud: audience }],
      ['a wrong audience', { iss: issuer, aud: 'another-api' }],
      ['no issuer', { aud: audience }],
      ['no audience', { iss: issuer }],
    ])('refuses a token with %s with UNAUTHORIZED and creates nothing', async (_case, extra) => {
      const username = unique('iss-bad');
      await expectRefusedAndUntouched(
        checked,
        await hs256(claims({ sub: username, ...extra })),
        username,
      );
    });
  });
});

describe('JWKS (AUTH_JWKS_URL with AUTH_ISSUER and AUTH_AUDIENCE)', () => {
  const issuer = 'https://id.example.test/';
  const audience = 'chat-api-jwks';
  const jwksOverrides = (jwks: JwksServer) => ({
    AUTH_SECRET: '',
    AUTH_JWKS_URL: jwks.url,
    AUTH_ISSUER: issuer,
    AUTH_AUDIENCE: audience,
  });
  const good = (sub: string, extra: JWTPayload = {}) =>
    claims({ sub, iss: issuer, aud: audience, ...extra });

  describe('verification', () => {
    let served: SigningKey;
    let stranger: SigningKey;
    let jwks: JwksServer;
    let api: RunningServer;

    beforeAll(async () => {
      [served, stranger] = await Promise.all([signingKey('served-1'), signingKey('stranger')]);
      jwks = new JwksServer([served.jwk]);
      await jwks.listen();
      api = await startServer(db.url, jwksOverrides(jwks));
    });
    afterAll(async () => {
      await api.close();
      await jwks.close();
    });

    it('accepts a token signed by a served key with the right issuer and audience', async () => {
      const username = unique('jwks-ok');
      expect(await meWith(api, await rs256(served, good(username)))).toBe('ok');
      expect(await countUsers(api, username)).toBe(1);
    });

    const refused: [string, (username: string) => Promise<string>][] = [
      ['a wrong issuer', (sub) => rs256(served, good(sub, { iss: 'https://evil.example.test/' }))],
      ['a wrong audience', (sub) => rs256(served, good(sub, { aud: 'another-api' }))],
      [
        'an expired token',
        (sub) => rs256(served, good(sub, { exp: nowSeconds() - BEYOND_TOLERANCE_S })),
      ],
      ['a token signed by a key not in the set', (sub) => rs256(stranger, good(sub))],
      [
        'a token naming a served kid but signed by another key',
        (sub) => rs256(stranger, good(sub), served.kid),
      ],
      [
        'an HS256 token whose secret is the served public key (algorithm confusion)',
        async (sub) => hs256(good(sub), encoder.encode(await exportSPKI(served.publicKey))),
      ],
      ['an HS256 token signed with some secret', (sub) => hs256(good(sub), TEST_SECRET)],
      ['an unsecured alg:none token', (sub) => Promise.resolve(unsecured(good(sub)))],
    ];

    it.each(refused)(
      'refuses %s with UNAUTHORIZED and creates nothing',
      async (_case, makeToken) => {
        const username = unique('jwks-bad');
        await expectRefusedAndUntouched(api, await makeToken(username), username);
      },
    );

    it('does not refetch the key set for every unknown kid (at most once per cooldown)', async () => {
      const before = jwks.fetches;
      const codes = await Promise.all(
        Array.from({ length: 20 }, async (_, i) =>
          meWith(api, await rs256(stranger, good(unique('spray')), `unknown-${i}`)),
        ),
      );
      expect(codes.every((code) => code === 'UNAUTHORIZED')).toBe(true);
      expect(jwks.fetches - before).toBeLessThanOrEqual(1);
    });
  });

  describe('key rotation', () => {
    let oldKey: SigningKey;
    let newKey: SigningKey;
    let jwks: JwksServer;
    let api: RunningServer;

    beforeAll(async () => {
      [oldKey, newKey] = await Promise.all([
        signingKey('rotation-old'),
        signingKey('rotation-new'),
      ]);
      jwks = new JwksServer([oldKey.jwk]);
      await jwks.listen();
      api = await startServer(db.url, jwksOverrides(jwks));
    });
    afterAll(async () => {
      vi.useRealTimers();
      await api.close();
      await jwks.close();
    });

    it('accepts a new kid once the set serves it and drops the old one, refetching at most once per 30 s cooldown', async () => {
      const username = unique('rotation');
      expect(await meWith(api, await rs256(oldKey, good(username)))).toBe('ok');
      expect(jwks.fetches).toBe(1);

      // The issuer rotates: the set now holds only the new key.
      jwks.serve([newKey.jwk]);

      // Within the cooldown after the last fetch, an unknown kid does not trigger a refetch, so
      // the new key is not known yet (jose's cooldownDuration, 30 s in tokens.ts).
      expect(await meWith(api, await rs256(newKey, good(username)))).toBe('UNAUTHORIZED');
      expect(jwks.fetches).toBe(1);

      // Once the cooldown has passed (the clock moved on; only Date is mocked, timers stay real),
      // the unknown kid makes jose refetch the set, and the new key is accepted.
      vi.setSystemTime(Date.now() + JWKS_COOLDOWN_MS + 1_000);
      try {
        expect(await meWith(api, await rs256(newKey, good(username)))).toBe('ok');
        expect(jwks.fetches).toBe(2);
        // The old key is gone from the set, so its tokens are refused now.
        expect(await meWith(api, await rs256(oldKey, good(username)))).toBe('UNAUTHORIZED');
      } finally {
        vi.useRealTimers();
      }
      expect(await countUsers(api, username)).toBe(1);
    });

    it('accepts the new key on a server that first sees the set after the rotation', async () => {
      const fresh = await startServer(db.url, jwksOverrides(jwks));
      try {
        const username = unique('rotation-fresh');
        expect(await meWith(fresh, await rs256(newKey, good(username)))).toBe('ok');
        expect(await meWith(fresh, await rs256(oldKey, good(username)))).toBe('UNAUTHORIZED');
      } finally {
        await fresh.close();
      }
    });
  });

  describe('key set endpoint down', () => {
    let key: SigningKey;
    let jwks: JwksServer;
    let api: RunningServer;

    beforeAll(async () => {
      key = await signingKey('down-1');
      jwks = new JwksServer([key.jwk]);
      await jwks.listen();
      await jwks.close(); // down before the first verification
      api = await startServer(db.url, jwksOverrides(jwks));
    });
    afterAll(async () => {
      await api.close();
      await jwks.close();
    });

    it('answers SERVICE_UNAVAILABLE (retry, keep the token; not a 500) while the key set cannot be fetched, keeps serving, and recovers', async () => {
      const username = unique('jwks-down');
      const token = await rs256(key, good(username));

      const response = await rawCall(api, 'user.me', { token });
      expect(response.status).toBe(503);
      expect(trpcErrorCode(response.body)).toBe('SERVICE_UNAVAILABLE');
      expect(await meWith(api, token)).toBe('SERVICE_UNAVAILABLE');
      expect(await countUsers(api, username)).toBe(0);
      expect((await fetch(`${api.url}/healthz`)).status).toBe(200);

      // The endpoint comes back on the same address: the next call fetches the set and passes.
      await jwks.listen(jwks.port);
      expect(await meWith(api, token)).toBe('ok');
      expect(await countUsers(api, username)).toBe(1);
    });
  });
});

describe('just-in-time users', () => {
  it('100 concurrent first calls of one new username all succeed and create exactly one row', async () => {
    const username = unique('jit');
    const clients = await Promise.all(
      Array.from({ length: 100 }, () => clientFor(server, username, { batch: false })),
    );
    const answers = await Promise.all(clients.map((client) => client.user.me.query()));
    expect(answers).toHaveLength(100);
    expect(new Set(answers.map((me) => me.id)).size).toBe(1);
    expect(answers.every((me) => me.username === username)).toBe(true);
    expect(await countUsers(server, username)).toBe(1);
  });

  it('fills users.email from the email claim at first sight (and a later claim does not change it)', async () => {
    const username = unique('email');
    const email = `${username}@Example.test`;
    const me = await (await clientFor(server, username, { email })).user.me.query();
    expect(me.email).toBe(email);
    expect(await storedEmail(server, username)).toBe(email);

    const later = await (
      await clientFor(server, username, { email: `other-${email}` })
    ).user.me.query();
    expect(later.email).toBe(email);
    expect(await storedEmail(server, username)).toBe(email);
  });

  it('creates the row with email null when the claimed email belongs to another user (case-insensitively)', async () => {
    const owner = unique('owner');
    const email = `Shared-${owner}@Example.test`;
    await (await clientFor(server, owner, { email })).user.me.query();
    expect(await storedEmail(server, owner)).toBe(email);

    const newcomer = unique('newcomer');
    const me = await (
      await clientFor(server, newcomer, { email: email.toLowerCase() })
    ).user.me.query();
    expect(me.username).toBe(newcomer);
    expect(me.email).toBeNull();
    expect(await countUsers(server, newcomer)).toBe(1);
    expect(await storedEmail(server, newcomer)).toBeNull();
    expect(await storedEmail(server, owner)).toBe(email);
  });
});

describe('the development secret', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'chat-auth-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const secretOf = async (env: Env): Promise<string> => {
    const source = await resolveKeySource(env);
    if (source.kind !== 'secret')
      throw new Error(`expected a secret key source, got ${source.kind}`);
    return new TextDecoder().decode(source.secret);
  };

  it('is made once under DATA_DIR with mode 0600 in development without AUTH_SECRET, and reused', async () => {
    const dataDir = join(root, 'dev', '.data');
    const env = parseEnv(envSchema, {
      NODE_ENV: 'development',
      DATA_DIR: dataDir,
      AUTH_SECRET: '',
    });
    expect(env.AUTH_SECRET).toBeUndefined();

    const first = await secretOf(env);
    const file = join(dataDir, DEV_SECRET_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(file, 'utf8')).trim()).toBe(first);
    expect(first.length).toBeGreaterThanOrEqual(32);

    expect(await secretOf(env)).toBe(first);

    // A server started the same way verifies tokens signed with that secret, and only those.
    const dev = await startServer(db.url, {
      NODE_ENV: 'development',
      AUTH_SECRET: '',
      DATA_DIR: dataDir,
    });
    try {
      const username = unique('dev');
      expect(await meWith(dev, await tokenFor(username, { secret: first }))).toBe('ok');
      expect(await meWith(dev, await tokenFor(username))).toBe('UNAUTHORIZED');
    } finally {
      await dev.close();
    }
  });

  it('is refused in production: parseEnv throws naming AUTH_SECRET when neither a secret nor a JWKS is set', () => {
    expect(() => parseEnv(envSchema, { NODE_ENV: 'production' })).toThrow(/AUTH_SECRET/);
    expect(() => parseEnv(envSchema, { NODE_ENV: 'production', AUTH_SECRET: '' })).toThrow(
      /AUTH_SECRET: is required in production/,
    );
  });

  it('is never made in production, even if the configuration check were bypassed', async () => {
    const dataDir = join(root, 'prod', '.data');
    const env: Env = {
      ...parseEnv(envSchema, { NODE_ENV: 'test', DATA_DIR: dataDir }),
      NODE_ENV: 'production',
    };
    await expect(resolveKeySource(env)).rejects.toThrow(/AUTH_SECRET/);
    expect(existsSync(join(dataDir, DEV_SECRET_FILE))).toBe(false);
  });
});

describe('the verified-token cache', () => {
  it('still enforces exp: a token that worked is refused once it has expired', async () => {
    const username = unique('cached');
    const token = await tokenFor(username, { expiresIn: '60s' });
    expect(await meWith(server, token)).toBe('ok');
    expect(await meWith(server, token)).toBe('ok'); // now from the cache
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 70_000); // past exp and the 5 s tolerance
    try {
      expect(await meWith(server, token)).toBe('UNAUTHORIZED');
    } finally {
      vi.useRealTimers();
    }
  });
});
