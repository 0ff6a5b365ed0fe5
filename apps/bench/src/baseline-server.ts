// The HTTP ceiling: bare fastify, no tRPC, no ORM, no zod. The same token check (jose, HS256) and
// the same statement as the api's send path, prepared, on a node-postgres pool of the same size.
// Run as its own process: BENCH_DATABASE_URL, BENCH_SECRET, BENCH_POOL, PORT.
import Fastify from 'fastify';
import { jwtVerify } from 'jose';
import pg from 'pg';
import { SEND_SQL_PG } from './sql.js';

const { BENCH_DATABASE_URL, BENCH_SECRET, BENCH_POOL = '10', PORT = '0' } = process.env;
if (!BENCH_DATABASE_URL || !BENCH_SECRET)
  throw new Error('BENCH_DATABASE_URL and BENCH_SECRET are required');

const pool = new pg.Pool({ connectionString: BENCH_DATABASE_URL, max: Number(BENCH_POOL) });
const key = new TextEncoder().encode(BENCH_SECRET);
const app = Fastify();

app.post<{ Body: { conversationId: number; content: string } }>('/send', async (request, reply) => {
  const token = request.headers.authorization?.replace(/^Bearer /, '') ?? '';
  let sub: string | undefined;
  try {
    ({
      payload: { sub },
    } = await jwtVerify(token, key, { algorithms: ['HS256'] }));
  } catch {
    return reply.code(401).send({ error: 'unauthorized' });
  }
  const { conversationId, content } = request.body;
  // Prepared once per connection, as pgbench runs it (-M prepared) and as the api runs its inserts.
  const { rows } = await pool.query({
    name: 'send',
    text: SEND_SQL_PG,
    values: [content, conversationId, sub],
  });
  if (!rows[0]) return reply.code(404).send({ error: 'not found' });
  return rows[0] as unknown;
});
app.get('/healthz', () => ({ status: 'ok' }));

const address = await app.listen({ host: '127.0.0.1', port: Number(PORT) });
process.stdout.write(`listening ${address}\n`);
process.once('SIGTERM', () => {
  void app.close().then(() => pool.end());
});
