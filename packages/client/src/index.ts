// A typed tRPC client for the chat api: types come from the api's router, imported as a type only.
import { createTRPCClient, httpBatchLink, httpLink, type TRPCClient } from '@trpc/client';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '@chat/api';
import { DEFAULT_MAX_BATCH_SIZE } from '@chat/contracts';

export type { AppRouter } from '@chat/api';
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export type { Conversation, Message, Page, User } from '@chat/contracts';

export type TokenSource = string | (() => string | Promise<string>);

export interface ChatClientOptions {
  /** The tRPC endpoint, e.g. `http://127.0.0.1:3000/trpc`. */
  url: string;
  /** A bearer token, or a function called before every request (to refresh it). */
  token: TokenSource;
  /** Batch calls made in the same tick into one request (default true). */
  batch?: boolean;
  /** Calls per batch; keep it at or under the server's MAX_BATCH_SIZE. */
  maxBatchSize?: number;
  headers?: Record<string, string>;
  fetch?: typeof globalThis.fetch;
}

export type ChatClient = TRPCClient<AppRouter>;

export function createChatClient(options: ChatClientOptions): ChatClient {
  const { url, token, batch = true, maxBatchSize = DEFAULT_MAX_BATCH_SIZE, headers = {} } = options;
  const linkOptions = {
    url,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    async headers() {
      const value = typeof token === 'function' ? await token() : token;
      return { ...headers, authorization: `Bearer ${value}` };
    },
  };
  return createTRPCClient<AppRouter>({
    links: [
      batch ? httpBatchLink({ ...linkOptions, maxItems: maxBatchSize }) : httpLink(linkOptions),
    ],
  });
}
