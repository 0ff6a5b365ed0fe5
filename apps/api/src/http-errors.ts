// Failures fastify meets before tRPC runs (body too large, unsupported content type, unknown
// route under /trpc), answered in tRPC's own error shape so every client reads them the same way.
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/** The tRPC code for each status fastify can answer with before tRPC runs; others: BAD_REQUEST. */
const BY_STATUS: Record<number, TRPC_ERROR_CODE_KEY> = {
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_SUPPORTED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  503: 'SERVICE_UNAVAILABLE',
};

const FIXED_MESSAGES: Record<number, string> = {
  400: 'bad request: the URL or the request is malformed',
  404: 'no such route',
  405: 'method not allowed',
  413: 'the request body is over the limit',
  414: 'the URL is too long',
  415: 'unsupported content type',
};

export function trpcErrorBody(request: FastifyRequest, status: number, message: string) {
  const code = BY_STATUS[status] ?? (status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_REQUEST');
  const url = new URL(request.url, 'http://localhost');
  // Echo the path only when it could name procedures: never an undecodable or overlong one.
  const path = safeDecode(url.pathname.replace(/^\/trpc\/?/, '')) ?? '';
  const echo = path.length <= 5_000 ? path : '';
  const envelope = (p: string) => ({
    error: {
      message,
      code: TRPC_ERROR_CODES_BY_KEY[code],
      data: {
        code,
        httpStatus: status,
        ...(p ? { path: p } : {}),
        zodError: code === 'BAD_REQUEST' ? { formErrors: [message], fieldErrors: {} } : null,
      },
    },
  });
  return url.searchParams.get('batch') === '1' ? echo.split(',').map(envelope) : envelope(echo);
}

function safeDecode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

export function handleHttpError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  // fastify's own messages can echo the URL or the body; they are replaced by a fixed sentence.
  const message =
    status >= 500
      ? 'Internal server error'
      : error.code.startsWith('FST_')
        ? (FIXED_MESSAGES[status] ?? 'bad request')
        : error.message;
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') closeAfterReadingOn(request, reply);
  if (!request.url.startsWith('/trpc')) {
    void reply.code(status).send({ statusCode: status, error: message });
    return;
  }
  void reply.code(status).send(trpcErrorBody(request, status, message));
}

/** How long a refused request may keep arriving after the answer before the connection is cut. */
const LINGER_MS = 5_000;

/**
 * Closes gently after answering a request refused before it had all arrived (a body over the
 * limit, malformed HTTP). Destroying the socket at once sent the client, still sending, a TCP
 * reset that often wiped the answer before it was read (RFC 9112 §9.6): fetch saw a broken
 * connection instead. So the FIN follows the answer, whatever still arrives is read and dropped,
 * and the socket is destroyed when the client closes or after LINGER_MS.
 */
function lingerThenClose(socket: Duplex): void {
  const cut = setTimeout(() => socket.destroy(), LINGER_MS);
  cut.unref();
  socket.once('close', () => {
    clearTimeout(cut);
  });
}

/** Connections whose last answer said `connection: close`: nothing more that arrives on them runs. */
const closing = new WeakSet<Duplex>();

/**
 * True for a request that arrived on a connection already answered with `connection: close` (a
 * client pipelining past its 413): RFC 9112 §9.6 says not to process it, and its answer could not
 * be written anyway, so a send would be stored and never acknowledged.
 */
export function arrivedAfterClose(socket: Duplex): boolean {
  return closing.has(socket);
}

/** A body over the limit: its 413 says `connection: close`, and the rest of the body is dropped. */
function closeAfterReadingOn(request: FastifyRequest, reply: FastifyReply): void {
  const socket = request.raw.socket;
  closing.add(socket);
  request.raw.resume();
  // Runs after Node's own 'finish' listener, which half-closed the socket and queued its destroy.
  reply.raw.once('finish', () => {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- the very function Node queued
    socket.removeListener('finish', socket.destroy);
    lingerThenClose(socket);
  });
}

/** JSON is UTF-8 (RFC 8259): bytes that are not are refused, never stored as U+FFFD. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeBody(body: Buffer): string {
  try {
    return strictUtf8.decode(body);
  } catch {
    throw Object.assign(new Error('the request body is not valid UTF-8'), {
      statusCode: 400,
      code: 'CHAT_BAD_UTF8',
    });
  }
}

/**
 * Errors Node's HTTP parser meets before fastify (headers or URL over the size limit, garbage):
 * answered in tRPC's shape rather than dropped or sent as Node's plain text.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  // More of a malformed request already answered (or about to be): read and dropped.
  if (answering.has(socket)) return;
  answering.add(socket);
  afterEarlierAnswers(socket, () => {
    answerMalformed(error, socket);
  });
}

/** Sockets whose malformed request is answered already, or will be once earlier answers are out. */
const answering = new WeakSet<Duplex>();

/**
 * Runs `then` once every complete request that came before the malformed one on this connection
 * (pipelined) has been answered: our 400 must follow their answers, or a client reads it as the
 * answer to a call that ran. A request still incomplete is the malformed one itself.
 */
function afterEarlierAnswers(socket: Duplex, then: () => void): void {
  // Node's own field for the response in progress; its default clientError handler reads it too.
  const current = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.destroyed || !current?.req.complete) {
    then();
    return;
  }
  current.once('close', () => {
    afterEarlierAnswers(socket, then);
  });
}

function answerMalformed(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const message =
    status === 431 ? 'the request line or headers are too large' : 'malformed HTTP request';
  const body = JSON.stringify({
    error: {
      message,
      code: TRPC_ERROR_CODES_BY_KEY.BAD_REQUEST,
      data: {
        code: 'BAD_REQUEST',
        httpStatus: status,
        zodError: { formErrors: [message], fieldErrors: {} },
      },
    },
  });
  socket.end(
    `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
  lingerThenClose(socket);
}
