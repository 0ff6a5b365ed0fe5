// The api's public surface for other packages: the router's type, and the server for tests and tools.
export type { AppRouter, RouterLimits } from './root.js';
export { createAppRouter } from './root.js';
export { buildServer, type ServerDependencies } from './server.js';
export { envSchema, loadEnv, type Env } from './env.js';
