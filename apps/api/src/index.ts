// The api's public surface for other packages: the router's type, and the server for tests and tools.
export type { AppRouter } from './root.js';
export { appRouter } from './root.js';
export { buildServer, type ServerDependencies } from './server.js';
export { envSchema, loadEnv, type Env } from './env.js';
