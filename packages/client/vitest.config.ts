import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['@chat/db/testing/global-setup'],
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
