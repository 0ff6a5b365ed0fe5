import {
  createConversation,
  deleteConversation,
  getConversation,
  listConversations,
  renameConversation,
} from '@chat/db';
import {
  CONVERSATION_PAGE,
  conversationCreateInput,
  conversationDeleteResultSchema,
  conversationIdInput,
  conversationListInput,
  conversationPageSchema,
  conversationRenameInput,
  conversationSchema,
} from '@chat/contracts';
import type { TRPCRouterRecord } from '@trpc/server';
import { toConversation } from '../dto.js';
import { protectedProcedure } from '../trpc.js';

export const conversationRouter = {
  create: protectedProcedure
    .input(conversationCreateInput)
    .output(conversationSchema)
    .mutation(async ({ ctx, input }) =>
      toConversation(await createConversation(ctx.db(), ctx.identity, input?.name ?? null)),
    ),

  list: protectedProcedure
    .input(conversationListInput)
    .output(conversationPageSchema)
    .query(async ({ ctx, input }) => {
      const page = await listConversations(ctx.db(), ctx.identity, {
        cursor: input?.cursor ?? null,
        limit: input?.limit ?? CONVERSATION_PAGE.default,
      });
      return { items: page.items.map(toConversation), nextCursor: page.nextCursor };
    }),

  get: protectedProcedure
    .input(conversationIdInput)
    .output(conversationSchema)
    .query(async ({ ctx, input }) =>
      toConversation(await getConversation(ctx.db(), ctx.identity, input.id)),
    ),

  rename: protectedProcedure
    .input(conversationRenameInput)
    .output(conversationSchema)
    .mutation(async ({ ctx, input }) =>
      toConversation(await renameConversation(ctx.db(), ctx.identity, input.id, input.name)),
    ),

  delete: protectedProcedure
    .input(conversationIdInput)
    .output(conversationDeleteResultSchema)
    .mutation(({ ctx, input }) => deleteConversation(ctx.db(), ctx.identity, input.id)),
} satisfies TRPCRouterRecord;
