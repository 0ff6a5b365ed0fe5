// The HTTP host: fastify with tRPC at /trpc and the plain health endpoints beside it.
import { createSendQueue, forkEntityManager, sequenceUsage, type ChatOrm } from '@chat/db';
import cors from '@fastify/cors';
import type { TRPCError } from '@trpc/server';
import { fastifyRequestHandler, type FastifyHandlerOptions } from '@trpc/server/adapters/fastify';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { resolveKeySource } from './auth/secret.js';
import { createTokenVerifier } from './auth/tokens.js';
import type { Env } from './env.js';
import { forTheLog } from './errors.js';
import {
  answerClientError,
  arrivedAfterClose,
  decodeBody,
  handleHttpError,
  trpcErrorBody,
} from './http-errors.js';
import { createMetrics } from './metrics.js';
import { createFastTrpcHandler } from './trpc-http.js';
import { createConcurrencyLimiter, createRateLimiter } from './rate-limit.js';
import { createAppRouter, type AppRouter } from './root.js';
import { createContextFactory } from './trpc.js';

export interface ServerDependencies {
  env: Env;
  orm: ChatOrm;
  logger: FastifyBaseLogger;
}

const READY_TIMEOUT_MS = 2_000;
/** Longest procedure path we allow for (a dotted name plus its comma). */
const MAX_PATH_CHARS = 64;

export async function buildServer({
  env,
  orm,
  logger,
}: ServerDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger,
    // One log line per call at high load costs more than it tells; errors are logged below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: env.BODY_LIMIT_BYTES,
    // A batch names every procedure in the URL path ("a.b,c.d,..."): room for a full batch.
    routerOptions: { maxParamLength: Math.max(5_000, env.MAX_BATCH_SIZE * MAX_PATH_CHARS) },
    // While closing, new requests get a 503 in tRPC's shape (the hook below), in-flight ones finish.
    return503OnClosing: false,
    clientErrorHandler: answerClientError,
    // Bad URLs, over-long batch paths: answered like every other error.
    frameworkErrors: handleHttpError,
  });
  app.setErrorHandler(handleHttpError);
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (request, reply, done) => {
    if (arrivedAfterClose(request.raw.socket)) {
      reply.hijack();
      request.raw.socket.destroy();
      done();
      return;
    }
    if (!closing) {
      done();
      return;
    }
    void reply
      .code(503)
      .header('connection', 'close')
      .send(trpcErrorBody(request, 503, 'the server is shutting down; retry'));
  });
  app.setNotFoundHandler((request, reply) => {
    if (request.url.startsWith('/trpc')) {
      return reply.code(404).send(trpcErrorBody(request, 404, 'no such procedure'));
    }
    return reply.code(404).send({ statusCode: 404, error: 'not found' });
  });

  if (env.CORS_ORIGINS.length > 0) {
    // Exact origins from configuration only; credentials are bearer tokens, not cookies.
    await app.register(cors, {
      origin: env.CORS_ORIGINS,
      methods: ['GET', 'POST'],
      allowedHeaders: ['authorization', 'content-type', 'trpc-accept'],
      maxAge: 600,
    });
  }

  watchIdRunway(app, orm, env.ID_RUNWAY_WARN_RATIO);

  app.get('/healthz', () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const ready = await databaseAnswers(orm);
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'unavailable', database: ready });
  });

  const sends = createSendQueue({
    fork: () => forkEntityManager(orm),
    maxInFlight: env.SEND_MAX_IN_FLIGHT,
    maxRows: env.SEND_MAX_ROWS,
  });
  const metrics = createMetrics(orm, sends);
  app.get('/metrics', async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.collect()),
  );

  const createContext = createContextFactory(
    {
      orm,
      env,
      logger,
      metrics,
      concurrency: createConcurrencyLimiter(env.MAX_CONCURRENT_PER_USER),
      limiter: createRateLimiter({
        perMinute: env.RATE_LIMIT_PER_MINUTE,
        burst: env.RATE_LIMIT_BURST,
      }),
      sends,
    },
    createTokenVerifier(await resolveKeySource(env)),
  );
  const reportError = ({ error, path }: { error: TRPCError; path: string | undefined }) => {
    if (error.code === 'INTERNAL_SERVER_ERROR') {
      const err = env.NODE_ENV === 'development' ? error : forTheLog(error);
      logger.error({ err, path }, 'procedure failed');
    } else if (error.code === 'SERVICE_UNAVAILABLE') {
      logger.warn({ err: forTheLog(error), path }, 'database unavailable');
    }
  };
  const trpcOptions = {
    router: createAppRouter({ maxMessageChars: env.MAX_MESSAGE_CHARS }),
    maxBatchSize: env.MAX_BATCH_SIZE,
    createContext: ({ req }: { req: FastifyRequest }) => createContext(req.headers.authorization),
    onError: reportError,
  } satisfies FastifyHandlerOptions<AppRouter, FastifyRequest, FastifyReply>;

  // tRPC's own fastify handler on a route of ours, so the body parser is ours too: any content
  // type reaches tRPC (which answers for it), and bodies must be valid UTF-8.
  await app.register((scope, _options, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body: Buffer, parsed) => {
      try {
        parsed(null, decodeBody(body));
      } catch (error) {
        parsed(error as Error);
      }
    });
    const standard = async (
      req: FastifyRequest<{ Params: { path: string } }>,
      res: FastifyReply,
    ): Promise<void> => {
      // tRPC's handler turns the request into a Fetch API Request, which cannot carry TRACE (it
      // threw: a 500). No procedure is called with it.
      if (req.method === 'TRACE') {
        void res
          .code(405)
          .header('allow', 'GET, POST')
          .send(trpcErrorBody(req, 405, 'method not allowed'));
        return;
      }
      await fastifyRequestHandler({ ...trpcOptions, req, res, path: req.params.path });
    };
    scope.all(
      '/trpc/:path',
      env.TRPC_ADAPTER === 'standard'
        ? standard
        : createFastTrpcHandler({
            router: trpcOptions.router,
            maxBatchSize: env.MAX_BATCH_SIZE,
            createContext: (req) => trpcOptions.createContext({ req }),
            onError: reportError,
            fallback: standard,
          }),
    );
    done();
  });

  return app;
}

/** Warns in the log, at start and every ten minutes, when an id sequence nears 2,147,483,647. */
function watchIdRunway(app: FastifyInstance, orm: ChatOrm, warnAt: number): void {
  const check = async () => {
    for (const { table, lastId, used } of await sequenceUsage(forkEntityManager(orm))) {
      if (used >= warnAt) {
        app.log.warn(
          { table, lastId, used },
          `ids of ${table} are ${(used * 100).toFixed(1)}% used: plan the move to bigint`,
        );
      }
    }
  };
  const run = () => {
    check().catch((error: unknown) => {
      app.log.warn({ err: error }, 'could not read the id sequences');
    });
  };
  app.addHook('onReady', (done) => {
    run();
    done();
  });
  const timer = setInterval(run, 10 * 60_000);
  timer.unref();
  app.addHook('onClose', (_instance, done) => {
    clearInterval(timer);
    done();
  });
}

/** One trivial query with a short deadline: a stuck pool must not hang the probe. */
async function databaseAnswers(orm: ChatOrm): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => {
      resolve(false);
    }, READY_TIMEOUT_MS);
  });
  const probe = orm.em
    .getConnection()
    .execute('select 1')
    .then(
      () => true,
      () => false,
    );
  try {
    return await Promise.race([probe, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
