// createChatClient(): tRPC's own typed proxy client for the chat api, with token refresh and a
// batch size that never exceeds what the server accepts.
import { createTRPCClient, httpBatchLink, httpLink, type TRPCClient } from '@trpc/client';
import type { AppRouter } from '@chat/api';
import { DEFAULT_MAX_BATCH_SIZE } from '@chat/contracts';

/** A bearer token, or a function called before every request (sync or async) to get a fresh one. */
export type TokenSource = string | (() => string | Promise<string>);

export interface ChatClientOptions {
  /** The tRPC endpoint, e.g. `http://127.0.0.1:3000/trpc`. */
  url: string;
  token: TokenSource;
  /**
   * Calls made in the same tick go in one HTTP request (default). `false` sends one request per
   * call.
   */
  batch?: boolean;
  /** Most calls per batch: keep it at or under the server's MAX_BATCH_SIZE (default 50, as the server's). */
  maxBatchSize?: number;
  /** Longest URL a batch of queries may build before it is split (default 8,000 characters). */
  maxURLLength?: number;
  /** Extra headers on every request, or a function returning them (called per request). */
  headers?:
    Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);
  /** A fetch implementation (default: the global fetch of Node 20+ and browsers). */
  fetch?: typeof globalThis.fetch;
}

export type ChatClient = TRPCClient<AppRouter>;

export function createChatClient(options: ChatClientOptions): ChatClient {
  const {
    url,
    token,
    batch = true,
    maxBatchSize = DEFAULT_MAX_BATCH_SIZE,
    maxURLLength = 8_000,
  } = options;
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) {
    throw new RangeError(`maxBatchSize must be a positive integer, got ${String(maxBatchSize)}`);
  }
  const link = {
    url,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    async headers() {
      const extra =
        typeof options.headers === 'function' ? await options.headers() : (options.headers ?? {});
      const value = typeof token === 'function' ? await token() : token;
      return { ...extra, authorization: `Bearer ${value}` };
    },
  };
  return createTRPCClient<AppRouter>({
    links: [
      batch ? httpBatchLink({ ...link, maxItems: maxBatchSize, maxURLLength }) : httpLink(link),
    ],
  });
}
