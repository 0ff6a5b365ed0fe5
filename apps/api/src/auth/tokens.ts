// Bearer-token verification with jose: HS256 with a shared secret, or a remote JWKS (OIDC) with
// issuer and audience checked. Only the algorithms of the configured kind are accepted, so
// `alg: none` and HS/RS confusion are refused.
import type { Identity } from '@chat/db';
import { EMAIL_MAX_CHARS, boundedText } from '@chat/contracts';
import {
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyOptions,
} from 'jose';
import * as z from 'zod';

export class UnauthorizedError extends Error {
  override readonly name = 'UnauthorizedError';
  /** True when the key set could not be fetched: the caller is refused, operators should know. */
  get keysUnavailable(): boolean {
    const cause = this.cause;
    return (
      cause instanceof joseErrors.JWKSTimeout ||
      cause instanceof joseErrors.JWKSInvalid ||
      cause instanceof TypeError || // fetch failed: refused, reset, DNS
      (cause instanceof joseErrors.JOSEError && cause.code === 'ERR_JOSE_GENERIC') // not 200 OK
    );
  }
}

export type TokenVerifier = (authorization: string | undefined) => Promise<Identity>;

export type KeySource =
  | {
      kind: 'secret';
      secret: Uint8Array;
      issuer?: string | undefined;
      audience?: string | undefined;
    }
  | { kind: 'jwks'; url: string; issuer: string; audience: string };

const ASYMMETRIC = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];
const MAX_TOKEN_CHARS = 8_192;
const CLOCK_TOLERANCE_S = 5;
const VERIFIED_CACHE_SIZE = 100_000;
const VERIFIED_TTL_MS = 5 * 60_000;
const USERNAME_MAX_CHARS = 255;

const subject = boundedText(1, USERNAME_MAX_CHARS);
const emailClaim = z.email().max(EMAIL_MAX_CHARS).pipe(boundedText(3, EMAIL_MAX_CHARS));

export function createTokenVerifier(source: KeySource): TokenVerifier {
  const verify =
    source.kind === 'secret'
      ? (token: string) =>
          jwtVerify(token, source.secret, options(['HS256'], source.issuer, source.audience))
      : (() => {
          // jose caches the key set and refetches it when a token names an unknown key (rotation).
          const keys = createRemoteJWKSet(new URL(source.url), {
            timeoutDuration: 5_000,
            cooldownDuration: 30_000,
          });
          return (token: string) =>
            jwtVerify(token, keys, options(ASYMMETRIC, source.issuer, source.audience));
        })();

  // A verified token is remembered until it expires (or for 5 minutes at most), so a client's
  // next calls with the same token skip the signature check. Expiry is still checked every time.
  const verified = new Map<string, { identity: Identity; until: number; notBefore: number }>();
  return async (authorization) => {
    const token = bearerToken(authorization);
    const now = Date.now();
    const known = verified.get(token);
    if (known && now < known.until && now >= known.notBefore) return known.identity;
    let payload: JWTPayload;
    try {
      ({ payload } = await verify(token));
    } catch (error) {
      throw new UnauthorizedError(describe(error), { cause: error });
    }
    const username = subject.safeParse(payload.sub);
    if (!username.success) throw new UnauthorizedError('the token has no usable sub claim');
    // A malformed email claim is ignored rather than refusing an otherwise valid identity.
    const email = emailClaim.safeParse(payload.email);
    const identity = { username: username.data, email: email.success ? email.data : null };
    if (verified.size >= VERIFIED_CACHE_SIZE) {
      const oldest = verified.keys().next();
      if (!oldest.done) verified.delete(oldest.value);
    }
    verified.set(token, {
      identity,
      until: Math.min(
        now + VERIFIED_TTL_MS,
        payload.exp === undefined ? Infinity : (payload.exp + CLOCK_TOLERANCE_S) * 1_000,
      ),
      notBefore: payload.nbf === undefined ? 0 : (payload.nbf - CLOCK_TOLERANCE_S) * 1_000,
    });
    return identity;
  };
}

function options(algorithms: string[], issuer?: string, audience?: string): JWTVerifyOptions {
  return {
    algorithms,
    clockTolerance: CLOCK_TOLERANCE_S,
    ...(issuer ? { issuer } : {}),
    ...(audience ? { audience } : {}),
  };
}

function bearerToken(authorization: string | undefined): string {
  if (!authorization) throw new UnauthorizedError('missing Authorization: Bearer <token>');
  const match = /^Bearer +([A-Za-z0-9_\-.]+)$/i.exec(authorization.trim());
  if (!match?.[1] || match[1].length > MAX_TOKEN_CHARS) {
    throw new UnauthorizedError('the Authorization header must be "Bearer <token>"');
  }
  return match[1];
}

function describe(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'the token has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return `the token's ${error.claim} claim is not accepted`;
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "the token's algorithm is not accepted";
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return "the token's signature is invalid";
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'no key matches the token';
  if (error instanceof joseErrors.JWKSTimeout) return 'the key set could not be fetched in time';
  return 'the token is invalid';
}
