/** The largest value of PostgreSQL's `integer`, the type of every id (the seed's `Integer`). */
export const ID_MAX = 2_147_483_647;

export const NAME_MAX_CHARS = 200;
/** A name may carry surrounding whitespace, as sent, but not without bound. */
export const NAME_MAX_RAW_CHARS = 1_000;
export const DEFAULT_MAX_MESSAGE_CHARS = 100_000;

export const CONVERSATION_PAGE = { default: 20, max: 100 } as const;
export const MESSAGE_PAGE = { default: 50, max: 200 } as const;

/** Calls the server runs in one HTTP batch; a larger batch is refused whole. */
export const DEFAULT_MAX_BATCH_SIZE = 50;

export const MESSAGE_ROLES = ['user', 'assistant'] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];
