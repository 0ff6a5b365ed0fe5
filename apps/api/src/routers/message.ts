import { listHistory, notFound } from '@chat/db';
import {
  messageListInput,
  messagePageSchema,
  messageSchema,
  messageSendInputSchema,
} from '@chat/contracts';
import type { TRPCRouterRecord } from '@trpc/server';
import { toMessage } from '../dto.js';
import { protectedProcedure } from '../trpc.js';

/** `maxMessageChars` is MAX_MESSAGE_CHARS: the content limit is part of the input schema. */
export function createMessageRouter(maxMessageChars: number) {
  return {
    send: protectedProcedure
      .input(messageSendInputSchema(maxMessageChars))
      .output(messageSchema)
      .mutation(async ({ ctx, input }) => {
        const row = await ctx.app.sends.send(ctx.identity, input.conversationId, input.content);
        if (!row) return notFound(ctx.db(), ctx.identity);
        return { ...row, role: 'user' as const, content: input.content };
      }),

    list: protectedProcedure
      .input(messageListInput)
      .output(messagePageSchema)
      .query(async ({ ctx, input }) => {
        const page = await listHistory(ctx.db(), ctx.identity, {
          ...input,
          cursor: input.cursor ?? null,
        });
        return { items: page.items.map(toMessage), nextCursor: page.nextCursor };
      }),
  } satisfies TRPCRouterRecord;
}
