// Raw HTTP/1.1 over a socket, for what fetch cannot send: malformed requests, pipelining, bodies
// cut short. Requests are built as text; the answers a connection got are split back out.
import { connect } from 'node:net';

export interface RawAnswer {
  status: number;
  headers: Map<string, string>;
  body: string;
}

export interface Exchange {
  answers: RawAnswer[];
  /** Bytes after the last complete answer. */
  rest: string;
}

/**
 * Writes `bytes` on a new connection and reads until the server closes it (every request here
 * ends with `Connection: close`, or is one the server cannot parse or refuses before its body).
 * `end`: half-close after writing (a request cut short); `destroy`: drop the connection.
 */
export function exchange(
  url: string,
  bytes: string | Buffer,
  { end = false, destroy = false, head = false } = {},
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      const got = Buffer.concat(chunks).toString().slice(0, 500);
      reject(new Error(`the server neither answered nor closed within 10 s; got: ${got}`));
    }, 10_000);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A reset after the server's last answer closes the exchange like a close does.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseAnswers(Buffer.concat(chunks), head));
    });
    socket.write(bytes, () => {
      if (destroy) socket.destroy();
      else if (end) socket.end();
    });
  });
}

/** Splits HTTP/1.1 responses (content-length or chunked) out of the bytes a connection got. */
function parseAnswers(bytes: Buffer, head: boolean): Exchange {
  const answers: RawAnswer[] = [];
  let at = 0;
  for (;;) {
    const headEnd = bytes.indexOf('\r\n\r\n', at);
    if (headEnd < 0) break;
    const [statusLine = '', ...lines] = bytes.toString('latin1', at, headEnd).split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3}) /.exec(statusLine)?.[1];
    if (!status) break;
    const headers = new Map(
      lines.map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()] as const;
      }),
    );
    let body: Buffer = Buffer.alloc(0);
    let next = headEnd + 4;
    if (head || status === '204') {
      // no body
    } else if (headers.get('transfer-encoding') === 'chunked') {
      const parts: Buffer[] = [];
      for (;;) {
        const sizeEnd = bytes.indexOf('\r\n', next);
        if (sizeEnd < 0) return { answers, rest: bytes.toString('latin1', at) };
        const size = Number.parseInt(bytes.toString('latin1', next, sizeEnd), 16);
        next = sizeEnd + 2;
        if (size === 0) {
          next += 2; // no trailers, then the empty line
          break;
        }
        parts.push(bytes.subarray(next, next + size));
        next += size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      const length = Number(headers.get('content-length') ?? bytes.length - next);
      if (next + length > bytes.length) break;
      body = bytes.subarray(next, next + length);
      next += length;
    }
    answers.push({ status: Number(status), headers, body: body.toString('utf8') });
    at = next;
  }
  return { answers, rest: bytes.toString('latin1', at) };
}

/** One HTTP/1.1 request as text; the last on a connection says `Connection: close`. */
export function request(
  method: string,
  target: string,
  {
    headers = {},
    body,
    last = true,
  }: { headers?: Record<string, string>; body?: string; last?: boolean } = {},
): string {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: fuzz.test'];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  const framed = Object.keys(headers).some((name) =>
    /^(content-length|transfer-encoding)$/i.test(name),
  );
  if (body !== undefined && !framed) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  if (last) lines.push('Connection: close');
  return `${lines.join('\r\n')}\r\n\r\n${body ?? ''}`;
}
