import { Migration } from '@mikro-orm/migrations';

export class Migration20261204161233_initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "conversations" ("id" serial primary key, "user_id" int not null, "name" text null, "created_at" timestamptz not null default now());`,
    );
    this.addSql(
      `create index "conversations_user_id_id_index" on "conversations" ("user_id", "id");`,
    );

    this.addSql(
      `create table "messages" ("id" serial primary key, "conversation_id" int not null, "role" text check ("role" in ('user', 'assistant')) not null, "content" text not null, "created_at" timestamptz not null default now());`,
    );
    this.addSql(
      `create index "messages_conversation_id_id_index" on "messages" ("conversation_id", "id");`,
    );

    this.addSql(
      `create table "users" ("id" serial primary key, "username" text not null, "email" text null, "created_at" timestamptz not null default now());`,
    );
    this.addSql(`alter table "users" add constraint "users_username_unique" unique ("username");`);
    this.addSql(`create unique index "users_email_lower_unique" on "users" (lower("email"));`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "conversations" cascade;`);

    this.addSql(`drop table if exists "messages" cascade;`);

    this.addSql(`drop table if exists "users" cascade;`);
  }
}
