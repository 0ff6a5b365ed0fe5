// Failures fastify meets before tRPC runs (body too large, unsupported content type, unknown
// route under /trpc), answered in tRPC's own error shape so every client reads them the same way.
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

const BY_STATUS: Record<number, TRPC_ERROR_CODE_KEY> = {
  400: 'BAD_REQUEST',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_SUPPORTED',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'BAD_REQUEST',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  503: 'SERVICE_UNAVAILABLE',
};

export function trpcErrorBody(request: FastifyRequest, status: number, message: string) {
  const code = BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST');
  const url = new URL(request.url, 'http://localhost');
  const path = decodeURIComponent(url.pathname.replace(/^\/trpc\/?/, ''));
  const envelope = (p: string | undefined) => ({
    error: {
      message,
      code: TRPC_ERROR_CODES_BY_KEY[code],
      data: { code, httpStatus: status, ...(p ? { path: p } : {}), zodError: null },
    },
  });
  return url.searchParams.get('batch') === '1'
    ? path.split(',').map(envelope)
    : envelope(path || undefined);
}

export function handleHttpError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  const message = status >= 500 ? 'Internal server error' : error.message;
  if (!request.url.startsWith('/trpc')) {
    return reply.code(status).send({ statusCode: status, error: message });
  }
  return reply.code(status).send(trpcErrorBody(request, status, message));
}
