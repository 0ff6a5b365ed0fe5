// The HTTP host: fastify with tRPC at /trpc and the plain health endpoints beside it.
import type { ChatOrm } from '@chat/db';
import { fastifyTRPCPlugin, type FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { resolveKeySource } from './auth/secret.js';
import { createTokenVerifier } from './auth/tokens.js';
import type { Env } from './env.js';
import { handleHttpError, trpcErrorBody } from './http-errors.js';
import { createRateLimiter } from './rate-limit.js';
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
    // While closing, refuse new requests with 503 and let in-flight ones finish.
    return503OnClosing: true,
  });
  app.setErrorHandler(handleHttpError);
  app.setNotFoundHandler((request, reply) => {
    if (request.url.startsWith('/trpc')) {
      return reply.code(404).send(trpcErrorBody(request, 404, 'no such procedure'));
    }
    return reply.code(404).send({ statusCode: 404, error: 'not found' });
  });

  app.get('/healthz', () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const ready = await databaseAnswers(orm);
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'unavailable', database: ready });
  });

  const createContext = createContextFactory({
    orm,
    env,
    logger,
    limiter: createRateLimiter({
      perMinute: env.RATE_LIMIT_PER_MINUTE,
      burst: env.RATE_LIMIT_BURST,
    }),
    verify: createTokenVerifier(await resolveKeySource(env)),
  });
  await app.register(fastifyTRPCPlugin, {
    prefix: '/trpc',
    trpcOptions: {
      router: createAppRouter({ maxMessageChars: env.MAX_MESSAGE_CHARS }),
      maxBatchSize: env.MAX_BATCH_SIZE,
      createContext: ({ req }) => createContext(req.headers.authorization),
      onError({ error, path }) {
        if (error.code === 'INTERNAL_SERVER_ERROR')
          logger.error({ err: error, path }, 'procedure failed');
        else if (error.code === 'SERVICE_UNAVAILABLE')
          logger.warn({ err: error.cause, path }, 'database unavailable');
      },
    } satisfies FastifyTRPCPluginOptions<AppRouter>['trpcOptions'],
  });

  return app;
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
