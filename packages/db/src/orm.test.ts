import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conversation, Message, User, type IMessage } from './entities/index.js';
import { createOrm, forkEntityManager, type ChatOrm } from './orm.js';
import { useTestDatabase } from './testing/index.js';

const db = useTestDatabase();
let orm: ChatOrm;

beforeAll(async () => {
  orm = await createOrm({ url: db.url, pool: { max: 4 } });
});
afterAll(async () => {
  await orm.close();
});

describe('the ORM factory', () => {
  it('maps the entities to the tables, with server-set timestamps', async () => {
    const em = forkEntityManager(orm);
    const user = em.create(User, { username: 'ada', email: null });
    await em.flush();
    expect(user.id).toBeGreaterThan(0);
    expect(user.createdAt).toBeInstanceOf(Date);

    const conversation = em.create(Conversation, { userId: user.id, name: 'first' });
    await em.flush();
    await em.insert<IMessage>(Message, {
      conversationId: conversation.id,
      role: 'user',
      content: 'hello',
    });

    const fresh = forkEntityManager(orm);
    const messages = await fresh.find(Message, { conversationId: conversation.id });
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ role: 'user', content: 'hello' });
    expect(messages[0]?.createdAt).toBeInstanceOf(Date);
  });

  it('gives every unit of work its own identity map', async () => {
    const a = forkEntityManager(orm);
    const b = forkEntityManager(orm);
    const inA = await a.findOneOrFail(User, { username: 'ada' });
    const inB = await b.findOneOrFail(User, { username: 'ada' });
    expect(inA).not.toBe(inB);
    inA.email = 'ada@example.com';
    expect(inB.email).toBeNull();
  });

  it('refuses work on the global EntityManager', async () => {
    await expect(orm.em.find(User, {})).rejects.toThrow(/global EntityManager/);
  });

  it('applies the pool bound', () => {
    expect(orm.config.get('pool')).toMatchObject({ max: 4 });
  });
});
