// A lean HTTP front for the common tRPC call: a plain JSON query (GET) or mutation (POST), batched
// or not. It runs the same router, middlewares, error formatter and status rules as tRPC's own
// fastify handler, without turning every request into a Fetch API Request and back. Everything
// else (streaming links, form data, malformed input, unknown paths, over-sized batches, other
// methods) goes to tRPC's handler, so those answers are tRPC's own.
import { TRPCError, type AnyProcedure, type AnyRouter } from '@trpc/server';
import type { TRPCErrorShape } from '@trpc/server/rpc';
import {
  type AnyMiddlewareFunction,
  type AnyRootTypes,
  type MiddlewareResult,
  type ProcedureCallOptions,
  type RootConfig,
  getErrorShape,
  middlewareMarker,
  getHTTPStatusCode,
  getProcedureAtPath,
  getTRPCErrorFromUnknown,
  transformTRPCResponse,
} from '@trpc/server/unstable-core-do-not-import';
import type { FastifyReply, FastifyRequest } from 'fastify';

type TrpcRequest = FastifyRequest<{
  Params: { path: string };
  Querystring: Record<string, string | undefined>;
}>;

export interface FastTrpcOptions<TRouter extends AnyRouter, TContext> {
  router: TRouter;
  maxBatchSize: number;
  createContext: (req: FastifyRequest) => TContext;
  onError: (opts: { error: TRPCError; path: string }) => void;
  /** tRPC's own handler, for every request this front does not take. */
  fallback: (req: TrpcRequest, reply: FastifyReply) => Promise<void>;
}

const METHOD_OF = { query: 'GET', mutation: 'POST' } as const;

export function createFastTrpcHandler<TRouter extends AnyRouter, TContext>(
  options: FastTrpcOptions<TRouter, TContext>,
): (req: TrpcRequest, reply: FastifyReply) => Promise<void> {
  const { router, maxBatchSize, createContext, onError, fallback } = options;
  const config = router._def._config as RootConfig<AnyRootTypes>;
  const procedures = new Map<string, AnyProcedure>();
  // Only paths that name a procedure are remembered: a client cannot grow this with made-up ones.
  const procedureAt = async (path: string) => {
    const known = procedures.get(path);
    if (known) return known;
    const found = await getProcedureAtPath(router, path);
    if (found) procedures.set(path, found);
    return found;
  };

  return async (req, reply) => {
    const plan = await planCalls(req);
    if (!plan) {
      await fallback(req, reply);
      return;
    }
    const ctx = createContext(req);
    const answers = await Promise.all(
      plan.calls.map(async ({ path, procedure, input }, batchIndex) => {
        const type = procedure._def.type;
        try {
          const data: unknown = await invoke(procedure, {
            path,
            getRawInput: () => Promise.resolve(input),
            ctx,
            input: undefined,
            type,
            // No procedure here reads a signal or returns a stream; one that did would have to be
            // left to tRPC's handler, which ties a signal to the request and streams results.
            signal: undefined,
            batchIndex,
          });
          return { answer: { result: { data } }, error: undefined };
        } catch (cause) {
          const error = getTRPCErrorFromUnknown(cause);
          onError({ error, path });
          return {
            answer: {
              error: getErrorShape({ config, error, type, path, input, ctx }) as TRPCErrorShape,
            },
            error,
          };
        }
      }),
    );
    const json = answers.map((a) => a.answer);
    const status = getHTTPStatusCode(
      json,
      answers.map((a) => a.error),
    );
    const body = transformTRPCResponse(config, plan.batch ? json : (json[0] ?? json));
    void reply
      .code(status)
      .header('content-type', 'application/json')
      .header('vary', 'trpc-accept, accept')
      .send(JSON.stringify(body));
  };

  /** The calls of a request this front can take, or null to hand it to tRPC. */
  async function planCalls(req: TrpcRequest) {
    const method = req.method;
    if (method !== 'GET' && method !== 'POST') return null;
    // Streaming links (trpc-accept or accept: application/jsonl, server-sent events) are tRPC's.
    if (req.headers['trpc-accept'] !== undefined) return null;
    if (/application\/jsonl|text\/event-stream/i.test(req.headers.accept ?? '')) return null;
    const contentType = req.headers['content-type'];
    if (
      method === 'POST' ? !isJson(contentType) : contentType !== undefined && !isJson(contentType)
    ) {
      return null;
    }
    if (Array.isArray(req.query.batch) || Array.isArray(req.query.input)) return null;

    const batch = req.query.batch === '1';
    let pathText: string;
    try {
      pathText = decodeURIComponent(req.params.path);
    } catch {
      return null;
    }
    const paths = batch ? pathText.split(',') : [pathText];
    if (paths.length > maxBatchSize) return null;

    let inputs: unknown;
    try {
      const raw = method === 'GET' ? req.query.input : (req.body as string | undefined);
      inputs = raw === undefined || raw === '' ? undefined : JSON.parse(raw);
    } catch {
      return null;
    }
    if (
      batch &&
      inputs !== undefined &&
      (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs))
    ) {
      return null;
    }

    const calls: { path: string; procedure: AnyProcedure; input: unknown }[] = [];
    for (const [index, path] of paths.entries()) {
      const procedure = await procedureAt(path);
      const type = procedure?._def.type;
      if (!procedure || (type !== 'query' && type !== 'mutation') || METHOD_OF[type] !== method)
        return null;
      const input = batch ? (inputs as Record<string, unknown> | undefined)?.[index] : inputs;
      calls.push({ path, procedure, input });
    }
    return { batch, calls };
  }
}

function isJson(contentType: string | undefined): boolean {
  return /^application\/json\s*(;|$)/i.test(contentType ?? '');
}

/**
 * What tRPC's procedure caller does (run the procedure's middlewares in order, the resolver last;
 * a throw becomes a failed result; a failed result is thrown), with plain object literals. tRPC's
 * build copies the call options with a transpiled spread helper at every middleware, which was a
 * tenth of the api's CPU under load. A procedure this cannot read falls back to tRPC's caller.
 */
async function invoke(
  procedure: AnyProcedure,
  opts: ProcedureCallOptions<unknown>,
): Promise<unknown> {
  const def = procedure._def as Partial<ProcedureDefinition>;
  if (!Array.isArray(def.middlewares) || def.caller !== undefined)
    return (await procedure(opts)) as unknown;
  const result = (await step(def as ProcedureDefinition, 0, opts)) as
    MiddlewareResult<unknown> | undefined;
  if (!result) {
    throw new TRPCError({
      code: 'INTERNAL_SERVER_ERROR',
      message: 'No result from middlewares - did you forget to `return next()`?',
    });
  }
  if (!result.ok) throw result.error;
  return result.data;
}

interface ProcedureDefinition {
  middlewares: AnyMiddlewareFunction[];
  meta: unknown;
  caller?: unknown;
}

interface NextOptions {
  ctx?: Record<string, unknown>;
  input?: unknown;
  getRawInput?: ProcedureCallOptions<unknown>['getRawInput'];
}

async function step(
  def: ProcedureDefinition,
  index: number,
  opts: ProcedureCallOptions<unknown>,
): Promise<MiddlewareResult<unknown>> {
  try {
    const middleware = def.middlewares[index];
    if (!middleware) throw new Error(`procedure ${opts.path} has no middleware ${String(index)}`);
    return await middleware({
      ctx: opts.ctx,
      type: opts.type,
      path: opts.path,
      input: opts.input,
      getRawInput: opts.getRawInput,
      signal: opts.signal,
      batchIndex: opts.batchIndex,
      meta: def.meta,
      next: (next?: NextOptions) =>
        step(def, index + 1, {
          ctx: next?.ctx ? { ...(opts.ctx as object), ...next.ctx } : opts.ctx,
          type: opts.type,
          path: opts.path,
          input: next && 'input' in next ? next.input : opts.input,
          getRawInput: next?.getRawInput ?? opts.getRawInput,
          signal: opts.signal,
          batchIndex: opts.batchIndex,
        }),
    });
  } catch (cause) {
    return { ok: false, error: getTRPCErrorFromUnknown(cause), marker: middlewareMarker };
  }
}
