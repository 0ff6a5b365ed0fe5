// Where token keys come from: AUTH_SECRET, a JWKS, or (development only) a secret the server
// makes once and keeps under DATA_DIR so tokens survive restarts.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Env } from '../env.js';
import type { KeySource } from './tokens.js';

export const DEV_SECRET_FILE = 'auth-secret';
/** The same floor env.ts puts on AUTH_SECRET: 256 bits for HS256. */
const MIN_SECRET_CHARS = 32;

export async function resolveKeySource(env: Env): Promise<KeySource> {
  if (env.AUTH_JWKS_URL && env.AUTH_ISSUER && env.AUTH_AUDIENCE) {
    return {
      kind: 'jwks',
      url: env.AUTH_JWKS_URL,
      issuer: env.AUTH_ISSUER,
      audience: env.AUTH_AUDIENCE,
    };
  }
  const secret = env.AUTH_SECRET ?? (await developmentSecret(env));
  return {
    kind: 'secret',
    secret: new TextEncoder().encode(secret),
    issuer: env.AUTH_ISSUER,
    audience: env.AUTH_AUDIENCE,
  };
}

async function developmentSecret(env: Env): Promise<string> {
  // env.ts already refuses production without a secret; this is a second lock on the same door.
  if (env.NODE_ENV === 'production') throw new Error('AUTH_SECRET is required in production');
  const file = join(env.DATA_DIR, DEV_SECRET_FILE);
  if (!existsSync(file)) {
    await mkdir(env.DATA_DIR, { recursive: true });
    // Written whole under a temporary name, then linked into place: a process starting at the
    // same moment sees either no file or the complete secret, and the first link wins.
    const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await writeFile(draft, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
    await link(draft, file).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    });
    await unlink(draft);
  }
  const secret = (await readFile(file, 'utf8')).trim();
  if (secret.length < MIN_SECRET_CHARS) {
    throw new Error(
      `${file} holds fewer than ${MIN_SECRET_CHARS} characters: delete it (a new one is made) or set AUTH_SECRET`,
    );
  }
  return secret;
}
