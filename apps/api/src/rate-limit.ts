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
