import { defineConfig } from 'vitest/config';

// The suite runs twice: through the lean front the server uses by default, and through tRPC's
// own fastify handler, so both answer every call the same way.
export default defineConfig({
  test: {
    globalSetup: ['@chat/db/testing/global-setup'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'fast',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          env: { CHAT_TEST_TRPC_ADAPTER: 'fast' },
        },
      },
      {
        extends: true,
        test: {
          name: 'standard',
          include: [
            'test/procedures.test.ts',
            'test/errors.test.ts',
            'test/properties.test.ts',
            'test/auth.test.ts',
            'test/integrity.test.ts',
          ],
          env: { CHAT_TEST_TRPC_ADAPTER: 'standard' },
        },
      },
    ],
  },
});
