// Type tests, checked by `pnpm typecheck` (tsc) and run as no-ops by vitest: the client's types are
// the contract's DTOs, never `any`, and wrong calls do not compile.
import { describe, expectTypeOf, it } from 'vitest';
import {
  createChatClient,
  isChatError,
  type Conversation,
  type InputErrors,
  type Message,
  type Page,
  type RouterInputs,
  type RouterOutputs,
  type User,
} from '../src/index.js';

type IsAny<T> = 0 extends 1 & T ? true : false;
/** "domain.procedure" for every procedure whose type is `any`: must be never. */
type AnyProcedures<T> = {
  [D in keyof T]: {
    [P in keyof T[D]]: IsAny<T[D][P]> extends true ? `${D & string}.${P & string}` : never;
  }[keyof T[D]];
}[keyof T];

const client = createChatClient({ url: 'http://127.0.0.1:1/trpc', token: 't' });

describe('types', () => {
  it('no procedure input or output degrades to any', () => {
    expectTypeOf<AnyProcedures<RouterOutputs>>().toBeNever();
    expectTypeOf<AnyProcedures<RouterInputs>>().toBeNever();
    expectTypeOf<keyof RouterOutputs>().toEqualTypeOf<'user' | 'conversation' | 'message'>();
  });

  it('outputs are exactly the contract’s DTOs', () => {
    expectTypeOf<RouterOutputs['user']['me']>().toEqualTypeOf<User>();
    expectTypeOf<RouterOutputs['user']['update']>().toEqualTypeOf<User>();
    expectTypeOf<RouterOutputs['user']['delete']>().toEqualTypeOf<{
      conversations: number;
      messages: number;
    }>();
    expectTypeOf<RouterOutputs['user']['export']>().toEqualTypeOf<{
      user: User;
      conversations: {
        id: number;
        userId: number;
        name: string | null;
        createdAt: string;
        messages: Message[];
      }[];
    }>();
    expectTypeOf<RouterOutputs['conversation']['create']>().toEqualTypeOf<Conversation>();
    expectTypeOf<RouterOutputs['conversation']['list']>().toEqualTypeOf<Page<Conversation>>();
    expectTypeOf<RouterOutputs['conversation']['get']>().toEqualTypeOf<Conversation>();
    expectTypeOf<RouterOutputs['conversation']['rename']>().toEqualTypeOf<Conversation>();
    expectTypeOf<RouterOutputs['conversation']['delete']>().toEqualTypeOf<{
      id: number;
      deletedMessages: number;
    }>();
    expectTypeOf<RouterOutputs['message']['send']>().toEqualTypeOf<Message>();
    expectTypeOf<RouterOutputs['message']['list']>().toEqualTypeOf<Page<Message>>();
    expectTypeOf<Message>().toEqualTypeOf<{
      id: number;
      conversationId: number;
      role: 'user' | 'assistant';
      content: string;
      createdAt: string;
    }>();
    expectTypeOf<User>().toEqualTypeOf<{
      id: number;
      username: string;
      email: string | null;
      createdAt: string;
    }>();
  });

  it('inputs are the contract’s shapes', () => {
    expectTypeOf<RouterInputs['message']['send']>().toEqualTypeOf<{
      conversationId: number;
      content: string;
    }>();
    expectTypeOf<RouterInputs['message']['list']>().toEqualTypeOf<{
      conversationId: number;
      cursor?: number | null | undefined;
      limit?: number | undefined;
      order?: 'asc' | 'desc' | undefined;
    }>();
    expectTypeOf<RouterInputs['conversation']['rename']>().toEqualTypeOf<{
      id: number;
      name: string | null;
    }>();
    expectTypeOf<RouterInputs['user']['update']>().toEqualTypeOf<{ email: string | null }>();
  });

  it('wrong procedure names, input shapes and id types do not compile', () => {
    // These calls are wrong on purpose: the type checker must refuse them (and so types them any).
    /* eslint-disable @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access */
    const never = () => {
      // @ts-expect-error: no such procedure
      void client.message.sendd.mutate({ conversationId: 1, content: 'x' });
      // @ts-expect-error: a mutation has no query()
      void client.message.send.query({ conversationId: 1, content: 'x' });
      // @ts-expect-error: ids are numbers
      void client.message.send.mutate({ conversationId: '1', content: 'x' });
      // @ts-expect-error: content is required
      void client.message.send.mutate({ conversationId: 1 });
      // @ts-expect-error: callers cannot choose the role
      void client.message.send.mutate({ conversationId: 1, content: 'x', role: 'assistant' });
      // @ts-expect-error: order is 'asc' | 'desc'
      void client.message.list.query({ conversationId: 1, order: 'newest' });
      // @ts-expect-error: rename needs a name (string or null)
      void client.conversation.rename.mutate({ id: 1 });
      // @ts-expect-error: the id of get is a number
      void client.conversation.get.query({ id: null });
      // @ts-expect-error: user.me takes no input
      void client.user.me.query({ id: 1 });
    };
    /* eslint-enable @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access */
    expectTypeOf(never).toBeFunction();
  });

  it('isChatError narrows to the code and the field errors', () => {
    const error: unknown = new Error('x');
    if (isChatError(error, 'BAD_REQUEST')) {
      expectTypeOf(error.data.code).toEqualTypeOf<'BAD_REQUEST'>();
      expectTypeOf(error.data.zodError).toEqualTypeOf<InputErrors | null>();
      expectTypeOf(error.data.zodError?.fieldErrors.content).toEqualTypeOf<string[] | undefined>();
    }
    if (isChatError(error, 'NOT_FOUND', 'CONFLICT')) {
      expectTypeOf(error.data.code).toEqualTypeOf<'NOT_FOUND' | 'CONFLICT'>();
    }
  });
});
