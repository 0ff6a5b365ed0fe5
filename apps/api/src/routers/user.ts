import { deleteUser, ensureUser, exportUser, updateEmail } from '@chat/db';
import {
  noInput,
  userDeleteResultSchema,
  userExportSchema,
  userSchema,
  userUpdateInput,
} from '@chat/contracts';
import type { TRPCRouterRecord } from '@trpc/server';
import { toConversation, toMessage, toUser } from '../dto.js';
import { protectedProcedure } from '../trpc.js';

export const userRouter = {
  me: protectedProcedure
    .input(noInput)
    .output(userSchema)
    .query(async ({ ctx }) => toUser(await ensureUser(ctx.db(), ctx.identity))),

  update: protectedProcedure
    .input(userUpdateInput)
    .output(userSchema)
    .mutation(async ({ ctx, input }) =>
      toUser(await updateEmail(ctx.db(), ctx.identity, input.email)),
    ),

  delete: protectedProcedure
    .input(noInput)
    .output(userDeleteResultSchema)
    .mutation(({ ctx }) => deleteUser(ctx.db(), ctx.identity.username)),

  export: protectedProcedure
    .input(noInput)
    .output(userExportSchema)
    .query(async ({ ctx }) => {
      const { user, conversations } = await exportUser(ctx.db(), ctx.identity);
      return {
        user: toUser(user),
        conversations: conversations.map((c) => ({
          ...toConversation(c),
          messages: c.messages.map(toMessage),
        })),
      };
    }),
} satisfies TRPCRouterRecord;
