// Per-user token buckets: each procedure call takes one token (a batch of 50 takes 50).

export interface RateLimiter {
  /** True when `key` may make one more call now. */
  take(key: string): boolean;
}

export function createRateLimiter({
  perMinute,
  burst,
}: {
  perMinute: number;
  burst: number;
}): RateLimiter {
  if (perMinute <= 0) return { take: () => true };
  const refillPerMs = perMinute / 60_000;
  const buckets = new Map<string, { tokens: number; at: number }>();
  let lastSweep = Date.now();
  return {
    take(key) {
      const now = Date.now();
      if (now - lastSweep > 60_000) {
        // Forget buckets that have refilled completely: they hold no information.
        for (const [k, bucket] of buckets)
          if (bucket.tokens + (now - bucket.at) * refillPerMs >= burst) buckets.delete(k);
        lastSweep = now;
      }
      const bucket = buckets.get(key) ?? { tokens: burst, at: now };
      bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.at) * refillPerMs);
      bucket.at = now;
      buckets.set(key, bucket);
      if (bucket.tokens < 1) return false;
      bucket.tokens -= 1;
      return true;
    },
  };
}

export interface ConcurrencyLimiter {
  /** Takes a slot for `key`; false when it already has `max` calls running. */
  enter(key: string): boolean;
  leave(key: string): void;
}

/** A bound on calls running at once per user (each call of a batch takes a slot). */
export function createConcurrencyLimiter(max: number): ConcurrencyLimiter {
  if (max <= 0) return { enter: () => true, leave: () => undefined };
  const running = new Map<string, number>();
  return {
    enter(key) {
      const now = running.get(key) ?? 0;
      if (now >= max) return false;
      running.set(key, now + 1);
      return true;
    },
    leave(key) {
      const now = (running.get(key) ?? 1) - 1;
      if (now <= 0) running.delete(key);
      else running.set(key, now);
    },
  };
}
