/*
 * Bundles the hub into single ESM files with esbuild: build/hub/hub.mjs (the service),
 * build/hub/migrate.mjs (the migrate command) and build/hub/loadtest.mjs (the load-test runner, which
 * the load-test Job runs from the hub image: same protocol client as the hub it loads). PGlite's
 * WebAssembly and data files are copied beside them; PGlite finds them relative to the bundle. The
 * Dockerfile copies exactly this directory.
 */
import type { Plugin } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const PGLITE_ASSETS = ['pglite.wasm', 'pglite.data', 'initdb.wasm'];

/**
 * The runner starts a local stack (Postgres, Redis, HAProxy, through the repository's tools) only on a
 * laptop; in the image those imports stay dynamic and unresolved, so the bundle carries none of it.
 */
const laptopOnly: Plugin = {
  name: 'loadtest-laptop-only',
  setup(build) {
    build.onResolve({ filter: /\/stack\.ts$/ }, (args) =>
      args.kind === 'dynamic-import' ? { path: args.path, external: true } : undefined,
    );
  },
};

export interface BundleReport {
  readonly outDir: string;
  readonly files: Record<string, number>;
}

export async function buildHubBundle(outDir = resolve(here, '../../build/hub')): Promise<BundleReport> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: {
      hub: join(here, 'main.ts'),
      migrate: join(here, 'migrate.ts'),
      loadtest: join(here, '../../loadtests/run.ts'),
    },
    plugins: [laptopOnly],
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    minify: true,
    legalComments: 'none',
    // pg loads its optional native binding only when asked to; the hub never asks.
    external: ['pg-native'],
    // CommonJS dependencies (pg, ioredis, pino) still call require().
    banner: {
      js: "import { createRequire as __hubRequire } from 'node:module'; const require = __hubRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  const pgliteDist = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  for (const asset of PGLITE_ASSETS) copyFileSync(join(pgliteDist, asset), join(outDir, asset));
  const files = Object.fromEntries(
    ['hub.mjs', 'migrate.mjs', 'loadtest.mjs', ...PGLITE_ASSETS].map((f) => [f, statSync(join(outDir, f)).size]),
  );
  return { outDir, files };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const report = await buildHubBundle(process.argv[2] === undefined ? undefined : resolve(process.argv[2]));
  for (const [file, bytes] of Object.entries(report.files)) {
    console.log(`${join(report.outDir, file)}  ${(bytes / 1024).toFixed(0)} KiB`);
  }
}
