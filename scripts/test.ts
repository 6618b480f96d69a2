/*
 * Runs the whole suite with Node's test runner. Node 20 does not discover *.test.ts files itself,
 * so this finds them (optionally filtered by path substrings given as arguments) and hands them over.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from './lib/tools.ts';

const SEARCHED = ['test', 'environments', 'constructs', 'stacks', 'charts', 'src', 'scripts', 'runbooks', 'loadtests'];

function* testFiles(dir: string): Generator<string> {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.')) yield* testFiles(path);
    else if (entry.isFile() && entry.name.endsWith('.test.ts')) yield relative(repoRoot, path);
  }
}

/** Tests that need the test cluster running; `npm run test:cluster` starts it and names them. */
const CLUSTER_TESTS = 'test/k8s-cluster/';

const filters = process.argv.slice(2);
const wantsCluster = filters.some((x) => x.includes(CLUSTER_TESTS.slice(5, -1)));
const files = SEARCHED.flatMap((d) => [...testFiles(join(repoRoot, d))]).filter(
  (f) => (filters.length === 0 || filters.some((x) => f.includes(x))) && (wantsCluster || !f.startsWith(CLUSTER_TESTS)),
);
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ') || '*.test.ts'}`);
  process.exit(1);
}

const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  cwd: repoRoot,
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
