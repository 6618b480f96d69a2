/*
 * Three runner processes stand in for three pods of the load-test Job: one shared local stack, each
 * runner its slice of the dm smoke run (`--target` at the stack's loopback address, the key from
 * LOADTEST_API_KEY), a shared `--start-at`, then `npm run loadtest:merge` over their run directories.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../scripts/lib/tools.ts';
import { shareOf } from './lib/slices.ts';
import { startLocalStack, type LocalStack } from './lib/stack.ts';
import type { Summary } from './lib/summary.ts';
import { THRESHOLDS_FAILED_EXIT_CODE } from './lib/thresholds.ts';
import { mergeRuns } from './merge.ts';

const SLICES = 3;
const RUNNER_TIMEOUT_MS = 120_000;

interface Runner {
  readonly code: number | null;
  readonly output: string;
}

/** One `tsx loadtests/run.ts` process, killed if it outlives the timeout. */
function runRunner(args: readonly string[], env: NodeJS.ProcessEnv): Promise<Runner> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'loadtests/run.ts', ...args], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUNNER_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('a distributed run: runner processes on one stack, merged', { timeout: 240_000 }, () => {
  let stack: LocalStack | undefined;
  const out = mkdtempSync(join(tmpdir(), 'rf-distributed-'));
  before(async () => {
    stack = await startLocalStack();
  });
  after(async () => {
    await stack?.stop();
    rmSync(out, { recursive: true, force: true });
  });

  it('each runner takes its slice from a shared start, and the merge adds them up exactly', async () => {
    const { wsUrl, apiKey } = stack!;
    // Far enough ahead for every runner to start and connect its agents on a busy machine.
    const startAt = new Date(Date.now() + 30_000).toISOString();
    const runners = await Promise.all(
      Array.from({ length: SLICES }, (_, index) =>
        runRunner(
          [
            'dm',
            '--env',
            'local',
            '--target',
            wsUrl,
            '--slice',
            `${index}/${SLICES}`,
            '--start-at',
            startAt,
            '--out',
            out,
          ],
          { ...process.env, LOADTEST_API_KEY: apiKey, FORCE_COLOR: '0' },
        ).then((runner) => ({ ...runner, index })),
      ),
    );
    // A slice leaves the verdict to the merge: 0 unless it failed to run.
    for (const runner of runners) {
      assert.equal(runner.code, 0, `slice ${runner.index}:\n${runner.output}`);
      assert.match(runner.output, new RegExp(`slice ${runner.index}/${SLICES}`));
      assert.match(runner.output, /start: in \d+s/, 'waited for the shared start');
      assert.ok(!runner.output.includes(apiKey), 'the key is never printed');
    }
    const dirs = readdirSync(out).map((name) => join(out, name));
    assert.equal(dirs.length, SLICES, dirs.join('\n'));
    const parts = dirs.map((dir) => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Summary);

    const merged = mergeRuns(dirs, join(out, 'merged'), () => undefined);
    assert.equal(merged.error, undefined);
    // Latency thresholds depend on how busy this machine is; what is proven here is the slicing and
    // the merge, so a breached threshold (99) is as good as a pass (0), an error (1) is not.
    assert.ok([0, THRESHOLDS_FAILED_EXIT_CODE].includes(merged.exitCode), `merge exited ${merged.exitCode}`);
    const { metrics } = merged.summary!;
    const count = (summary: Summary, metric: string) => summary.metrics[metric]?.total.count ?? 0;
    for (const metric of ['iterations', 'dm_latency', 'iteration_duration']) {
      assert.equal(
        count(merged.summary!, metric),
        parts.map((p) => count(p, metric)).reduce((a, b) => a + b),
        metric,
      );
    }
    // Each slice started its share of the 50 DMs/s for 15 s, no more: the rates were divided.
    for (const part of parts) {
      const started = count(part, 'iterations') + count(part, 'dropped_iterations');
      assert.equal(started, shareOf(50, part.slice!) * 15, `slice ${part.slice!.index}`);
    }
    assert.equal(metrics.unexpected_closes!.total.count, 0, 'no slice took over another slice’s agent');
    assert.equal(metrics.dm_seq_gaps!.total.count, 0);
    // The slices' series share the start's intervals, so they merge into the merged run's report.
    assert.ok(existsSync(join(out, 'merged', 'series.json')));
    assert.match(readFileSync(join(out, 'merged', 'report.html'), 'utf8'), /dm_latency/);
  });
});
