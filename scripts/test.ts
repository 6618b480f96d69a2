/*
 * Runs the whole suite with Node's test runner: finds the *.test.ts files (optionally filtered by
 * path substrings given as arguments) and hands them over. The toolchain the tests use is built
 * first, once: scripts/toolchain.sh runs whenever it has not yet run for the current pins.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot, toolsDir } from './lib/tools.ts';

/** The record scripts/toolchain.sh leaves in built-for: the pins' hash, and whether it ran as root. */
function toolchainBuiltForThesePins(): boolean {
  const pins = createHash('sha256');
  for (const file of ['toolchain.env', 'toolchain.sh']) pins.update(readFileSync(join(repoRoot, 'scripts', file)));
  let builtFor: string;
  try {
    builtFor = readFileSync(join(toolsDir, 'built-for'), 'utf8').trim();
  } catch {
    return false;
  }
  const [hash, as] = builtFor.split(' ');
  // A non-root run skips the containers, so as root it must run again.
  return hash === pins.digest('hex') && (as === 'root' || process.getuid?.() !== 0);
}

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

if (!toolchainBuiltForThesePins()) {
  console.log('[test] the toolchain has not been built for these pins: running scripts/toolchain.sh first');
  const toolchain = spawnSync('bash', [join(repoRoot, 'scripts', 'toolchain.sh')], { stdio: 'inherit' });
  if (toolchain.status !== 0) process.exit(toolchain.status ?? 1);
}

const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  cwd: repoRoot,
  stdio: 'inherit',
});
process.exit(run.status ?? 1);
