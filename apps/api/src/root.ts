import { router } from './trpc.js';

/** Every domain router, mounted under its name. */
export const appRouter = router({});

export type AppRouter = typeof appRouter;
