import { defineEntity, type InferEntity } from '@mikro-orm/core';

/** `users`: one row per identity (a token's `sub`), created on first sight. */
export const User = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: (p) => ({
    id: p.integer().primary().autoincrement(),
    username: p.text().unique('users_username_unique'),
    email: p.text().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  }),
  // Emails are unique regardless of case; one expression index enforces both rules.
  indexes: [
    {
      name: 'users_email_lower_unique',
      expression: 'create unique index "users_email_lower_unique" on "users" (lower("email"))',
    },
  ],
});

export type IUser = InferEntity<typeof User>;
