// The one place tRPC is set up: context, error shape, and the procedure builders.
import { initTRPC } from '@trpc/server';
import { z } from 'zod';
import type { ChatOrm } from '@chat/db';
import type { Env } from './env.js';

export interface Context {
  orm: ChatOrm;
  env: Env;
  /** The raw `Authorization` header, verified by the auth middleware. */
  authorization: string | undefined;
}

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error }) {
    return {
      ...shape,
      data: {
        ...shape.data,
        zodError:
          error.code === 'BAD_REQUEST' && error.cause instanceof z.ZodError
            ? z.flattenError(error.cause)
            : null,
      },
    };
  },
});

export const router = t.router;
export const publicProcedure = t.procedure;
export const createCallerFactory = t.createCallerFactory;
