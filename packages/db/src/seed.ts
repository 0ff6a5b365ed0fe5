// Fills a database with realistic chat data, fast: multi-row inserts of whole arrays (unnest),
// one statement per batch, never a row at a time.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface SeedSizes {
  users: number;
  conversationsPerUser: number;
  messagesPerConversation: number;
  /** Rows per insert statement. */
  batchSize?: number;
  /** Seed of the pseudo-random generator: the same seed gives the same text and shape. */
  seed?: number;
}

export interface SeedProgress {
  table: 'users' | 'conversations' | 'messages';
  done: number;
  total: number;
}

export interface SeedResult {
  users: number;
  conversations: number;
  messages: number;
  /** Username prefix of this run's users (runs never collide with each other). */
  prefix: string;
}

const TOPICS = [
  'a PostgreSQL index question',
  'planning a trip to Lisbon',
  'debugging a memory leak',
  'a birthday gift idea',
  'learning Rust ownership',
  'a sourdough starter',
  'tax forms',
  'a cover letter',
  'TypeScript generics',
  'a marathon training plan',
  'a garden layout',
  'the history of Rome',
  'a SQL window function',
  'a job interview',
  'a short story draft',
];
const WORDS = (
  'the a an of to and in that is for it with as was on be by this are or from at which but not ' +
  'have had can will one all would there their what so up out if about who get when make like ' +
  'time just know take people into year your good some could them see other than then now look ' +
  'only come its over think also back after use two how our work first well way even new want ' +
  'because any these give day most us query index table row column transaction lock commit ' +
  'message conversation answer question example function value result error test data'
).split(' ');

/** A small, fast, seedable PRNG (mulberry32): reproducible text without a dependency. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export async function seedDatabase(
  url: string,
  sizes: SeedSizes,
  onProgress: (progress: SeedProgress) => void = () => undefined,
): Promise<SeedResult> {
  const { users, conversationsPerUser, messagesPerConversation, batchSize = 5_000 } = sizes;
  const random = generator(sizes.seed ?? 1);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const sentence = (min: number, max: number) => {
    const length = min + Math.floor(random() * (max - min + 1));
    const words = Array.from({ length }, () => pick(WORDS));
    const text = words.join(' ');
    return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
  };
  const prefix = `seed-${randomBytes(3).toString('hex')}`;
  // History starts 90 days ago and moves forward, so created_at follows id as it would live.
  let clock = Date.now() - 90 * 86_400_000;
  const tick = (maxSeconds: number) =>
    new Date((clock += 1_000 + Math.floor(random() * maxSeconds * 1_000)));

  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const userIds: number[] = [];
    for (let start = 0; start < users; start += batchSize) {
      const count = Math.min(batchSize, users - start);
      const names = Array.from({ length: count }, (_, i) => `${prefix}-${start + i + 1}`);
      const emails = names.map((name) => (random() < 0.8 ? `${name}@example.com` : null));
      const { rows } = await client.query<{ id: number }>(
        `insert into users (username, email)
         select * from unnest($1::text[], $2::text[]) returning id`,
        [names, emails],
      );
      userIds.push(...rows.map((row) => row.id));
      onProgress({ table: 'users', done: userIds.length, total: users });
    }

    const totalConversations = users * conversationsPerUser;
    const conversationIds: number[] = [];
    const owners = userIds.flatMap((id) => Array.from({ length: conversationsPerUser }, () => id));
    for (let start = 0; start < owners.length; start += batchSize) {
      const batch = owners.slice(start, start + batchSize);
      const { rows } = await client.query<{ id: number }>(
        `insert into conversations (user_id, name, created_at)
         select * from unnest($1::int[], $2::text[], $3::timestamptz[]) returning id`,
        [
          batch,
          batch.map(() => (random() < 0.9 ? `About ${pick(TOPICS)}` : null)),
          batch.map(() => tick(60)),
        ],
      );
      conversationIds.push(...rows.map((row) => row.id));
      onProgress({
        table: 'conversations',
        done: conversationIds.length,
        total: totalConversations,
      });
    }

    const totalMessages = conversationIds.length * messagesPerConversation;
    let conversationIds_: number[] = [];
    let roles: string[] = [];
    let contents: string[] = [];
    let times: Date[] = [];
    let written = 0;
    const flush = async () => {
      if (conversationIds_.length === 0) return;
      await client.query(
        `insert into messages (conversation_id, role, content, created_at)
         select * from unnest($1::int[], $2::text[], $3::text[], $4::timestamptz[])`,
        [conversationIds_, roles, contents, times],
      );
      written += conversationIds_.length;
      onProgress({ table: 'messages', done: written, total: totalMessages });
      conversationIds_ = [];
      roles = [];
      contents = [];
      times = [];
    };
    for (const conversationId of conversationIds) {
      for (let turn = 0; turn < messagesPerConversation; turn++) {
        const fromUser = turn % 2 === 0;
        conversationIds_.push(conversationId);
        roles.push(fromUser ? 'user' : 'assistant');
        contents.push(
          fromUser
            ? sentence(4, 30).replace(/\.$/, '?')
            : Array.from({ length: 1 + Math.floor(random() * 4) }, () => sentence(8, 40)).join(' '),
        );
        times.push(tick(fromUser ? 120 : 20));
        if (conversationIds_.length >= batchSize) await flush();
      }
    }
    await flush();
    return {
      users: userIds.length,
      conversations: conversationIds.length,
      messages: written,
      prefix,
    };
  } finally {
    await client.end();
  }
}
