// `pnpm token <username> [--email a@b.c] [--expires 24h]`: prints a token the server accepts
// (signed with AUTH_SECRET, or the development secret under DATA_DIR).
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { resolveKeySource } from '../auth/secret.js';
import { loadEnv } from '../env.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { email: { type: 'string' }, expires: { type: 'string', default: '24h' } },
});

async function main(): Promise<void> {
  const [username] = positionals;
  if (!username) throw new Error('usage: pnpm token <username> [--email a@b.c] [--expires 24h]');
  const env = loadEnv();
  const source = await resolveKeySource(env);
  if (source.kind !== 'secret')
    throw new Error('AUTH_JWKS_URL is set: tokens come from your identity provider');
  let jwt = new SignJWT({ ...(values.email ? { email: values.email } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(username)
    .setIssuedAt()
    .setExpirationTime(values.expires);
  if (source.issuer) jwt = jwt.setIssuer(source.issuer);
  if (source.audience) jwt = jwt.setAudience(source.audience);
  process.stdout.write(`${await jwt.sign(source.secret)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
