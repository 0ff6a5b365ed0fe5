// The migrated schema, read back from the catalog, is the seed's design column for column.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest } from './migrate.js';
import { createOrm } from './orm.js';
import { useTestDatabase } from './testing/index.js';

const db = useTestDatabase({ migrated: false });
let client: pg.Client;

beforeAll(async () => {
  const orm = await createOrm({ url: db.url, pool: { max: 2 } });
  await migrateToLatest(orm);
  await orm.close();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});
afterAll(async () => {
  await client.end();
});

async function columns(table: string) {
  const { rows } = await client.query<{
    column_name: string;
    data_type: string;
    is_nullable: string;
    column_default: string | null;
  }>(
    `select column_name, data_type, is_nullable, column_default
       from information_schema.columns
      where table_schema = 'public' and table_name = $1
      order by ordinal_position`,
    [table],
  );
  return rows;
}

const serial = (table: string) => `nextval('${table}_id_seq'::regclass)`;

describe('tables, column for column', () => {
  it('users', async () => {
    expect(await columns('users')).toEqual([
      {
        column_name: 'id',
        data_type: 'integer',
        is_nullable: 'NO',
        column_default: serial('users'),
      },
      { column_name: 'username', data_type: 'text', is_nullable: 'NO', column_default: null },
      { column_name: 'email', data_type: 'text', is_nullable: 'YES', column_default: null },
      {
        column_name: 'created_at',
        data_type: 'timestamp with time zone',
        is_nullable: 'NO',
        column_default: 'now()',
      },
    ]);
  });

  it('conversations', async () => {
    expect(await columns('conversations')).toEqual([
      {
        column_name: 'id',
        data_type: 'integer',
        is_nullable: 'NO',
        column_default: serial('conversations'),
      },
      { column_name: 'user_id', data_type: 'integer', is_nullable: 'NO', column_default: null },
      { column_name: 'name', data_type: 'text', is_nullable: 'YES', column_default: null },
      {
        column_name: 'created_at',
        data_type: 'timestamp with time zone',
        is_nullable: 'NO',
        column_default: 'now()',
      },
    ]);
  });

  it('messages', async () => {
    expect(await columns('messages')).toEqual([
      {
        column_name: 'id',
        data_type: 'integer',
        is_nullable: 'NO',
        column_default: serial('messages'),
      },
      {
        column_name: 'conversation_id',
        data_type: 'integer',
        is_nullable: 'NO',
        column_default: null,
      },
      { column_name: 'role', data_type: 'text', is_nullable: 'NO', column_default: null },
      { column_name: 'content', data_type: 'text', is_nullable: 'NO', column_default: null },
      {
        column_name: 'created_at',
        data_type: 'timestamp with time zone',
        is_nullable: 'NO',
        column_default: 'now()',
      },
    ]);
  });

  it('has no other application tables', async () => {
    const { rows } = await client.query<{ table_name: string }>(
      `select table_name from information_schema.tables where table_schema = 'public' order by 1`,
    );
    expect(rows.map((r) => r.table_name)).toEqual([
      'conversations',
      'messages',
      'mikro_orm_migrations',
      'users',
    ]);
  });
});

describe('constraints and indexes', () => {
  it('has no foreign key anywhere', async () => {
    const { rows } = await client.query(`select conname from pg_constraint where contype = 'f'`);
    expect(rows).toEqual([]);
  });

  it('has exactly the primary keys, uniques and the role check', async () => {
    const { rows } = await client.query<{ table: string; type: string; definition: string }>(
      `select conrelid::regclass::text as table, contype as type, pg_get_constraintdef(oid) as definition
         from pg_constraint
        where connamespace = 'public'::regnamespace and conrelid::regclass::text <> 'mikro_orm_migrations'
          and contype <> 'n' -- PostgreSQL 18 lists NOT NULL here too; information_schema covers it
        order by 1, 2, 3`,
    );
    expect(rows).toEqual([
      { table: 'conversations', type: 'p', definition: 'PRIMARY KEY (id)' },
      {
        table: 'messages',
        type: 'c',
        definition: "CHECK ((role = ANY (ARRAY['user'::text, 'assistant'::text])))",
      },
      { table: 'messages', type: 'p', definition: 'PRIMARY KEY (id)' },
      { table: 'users', type: 'p', definition: 'PRIMARY KEY (id)' },
      { table: 'users', type: 'u', definition: 'UNIQUE (username)' },
    ]);
  });

  it('indexes the lookups the api makes', async () => {
    const { rows } = await client.query<{ indexdef: string }>(
      `select indexdef from pg_indexes
        where schemaname = 'public' and tablename <> 'mikro_orm_migrations' and indexname not like '%_pkey'
        order by indexname`,
    );
    expect(rows.map((r) => r.indexdef)).toEqual([
      'CREATE INDEX conversations_user_id_id_index ON public.conversations USING btree (user_id, id)',
      'CREATE INDEX messages_conversation_id_id_index ON public.messages USING btree (conversation_id, id)',
      'CREATE UNIQUE INDEX users_email_lower_unique ON public.users USING btree (lower(email))',
      'CREATE UNIQUE INDEX users_username_unique ON public.users USING btree (username)',
    ]);
  });
});

describe('what the database itself enforces', () => {
  it('accepts only user and assistant as a role', async () => {
    await expect(
      client.query(
        `insert into messages (conversation_id, role, content) values (1, 'system', 'x')`,
      ),
    ).rejects.toMatchObject({ code: '23514' });
    await client.query(
      `insert into messages (conversation_id, role, content) values (1, 'assistant', 'x')`,
    );
  });

  it('sets created_at on the server', async () => {
    const { rows } = await client.query<{ created_at: Date; now: Date }>(
      `insert into users (username) values ('clock') returning created_at, now() as now`,
    );
    expect(rows[0]?.created_at).toEqual(rows[0]?.now);
  });

  it('keeps usernames unique and emails unique regardless of case, nulls allowed', async () => {
    await client.query(`insert into users (username, email) values ('ann', 'Ann@Example.com')`);
    await expect(client.query(`insert into users (username) values ('ann')`)).rejects.toMatchObject(
      {
        code: '23505',
        constraint: 'users_username_unique',
      },
    );
    await expect(
      client.query(`insert into users (username, email) values ('ann2', 'ann@example.COM')`),
    ).rejects.toMatchObject({ code: '23505', constraint: 'users_email_lower_unique' });
    await client.query(`insert into users (username, email) values ('n1', null), ('n2', null)`);
  });

  it('stores a message id up to the 32-bit limit and no further', async () => {
    await expect(
      client.query(
        `insert into messages (id, conversation_id, role, content) values (2147483648, 1, 'user', 'x')`,
      ),
    ).rejects.toMatchObject({ code: '22003' });
  });
});
