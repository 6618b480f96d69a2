import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { THRESHOLDS_FAILED_EXIT_CODE } from './lib/thresholds.ts';
import { parseCommandLine, runLoadTest, type LoadTestRun } from './run.ts';

describe('npm run loadtest: command line', () => {
  it('takes a scenario, --env and --profile', () => {
    assert.deepEqual(parseCommandLine(['dm', '--profile', 'full']), { scenario: 'dm', env: 'local', profile: 'full' });
  });

  it('takes a distributed slice, a shared start, an output folder and a target; a pod gives them by environment', () => {
    const startAt = new Date(Date.now() + 60_000);
    const args = ['dm', '--env', 'staging', '--target', 'ws://hub.ringforge.svc:8080/ws', '--slice', '1/4'];
    assert.deepEqual(
      parseCommandLine([...args, '--start-at', startAt.toISOString(), '--out', '/results', '--print-run', '--yes'], {}),
      {
        scenario: 'dm',
        env: 'staging',
        profile: 'smoke',
        target: 'ws://hub.ringforge.svc:8080/ws',
        confirmed: true,
        slice: { index: 1, count: 4 },
        startAt,
        reportRoot: '/results',
        printRun: true,
      },
    );
    const pod = { JOB_COMPLETION_INDEX: '2', LOADTEST_PARALLELISM: '4', LOADTEST_START_AT: startAt.toISOString() };
    assert.deepEqual(parseCommandLine(['fanout', '--env', 'staging'], pod), {
      scenario: 'fanout',
      env: 'staging',
      profile: 'smoke',
      slice: { index: 2, count: 4 },
      startAt,
    });
    // The flag wins over the pod's environment.
    assert.deepEqual((parseCommandLine(['dm', '--slice', '0/1'], pod) as LoadTestRun).slice, { index: 0, count: 1 });
    assert.throws(() => parseCommandLine(['dm', '--slice', '4/4'], {}), /the index must be < the count/);
    assert.throws(
      () => parseCommandLine(['dm', '--start-at', new Date(Date.now() + 3_600_000).toISOString()], {}),
      /it must be within 10 min of now/,
    );
  });

  it('names the flag or argument that is wrong', () => {
    assert.throws(() => parseCommandLine(['dm', '--profile', 'huge']), /--profile must be one of smoke, full/);
    assert.throws(() => parseCommandLine(['dm', '--env', 'nowhere']), /--env must be one of/);
    assert.throws(
      () => parseCommandLine(['nope']),
      /unknown scenario "nope" \(known: api, connect, dm, fanout, offline, soak, tasks\)/,
    );
    assert.throws(() => parseCommandLine([]), /give exactly one scenario/);
    assert.throws(() => parseCommandLine(['dm', '--rate', '5']), /Unknown option '--rate'/);
  });
});

describe('npm run loadtest: dm against the local stack', { timeout: 90_000 }, () => {
  const reportRoot = mkdtempSync(join(tmpdir(), 'rf-loadtest-test-'));
  after(() => rmSync(reportRoot, { recursive: true, force: true }));
  const quiet = () => undefined;

  it('passes the smoke profile and writes summary.json', async () => {
    const result = await runLoadTest({ scenario: 'dm', profile: 'smoke', reportRoot, print: quiet });
    assert.equal(result.error, undefined);
    assert.equal(result.exitCode, 0);
    const summary = JSON.parse(readFileSync(result.summaryPath!, 'utf8'));
    assert.equal(summary.passed, true);
    assert.deepEqual(
      summary.thresholds.map((t: any) => [t.key, t.expression, t.passed]),
      [
        ['dm_latency', 'p(95)<100', true],
        ['dm_seq_gaps', 'count<1', true],
        ['checks', 'rate>0.99', true],
      ],
    );
    const latency = summary.metrics.dm_latency;
    assert.ok(latency.total.count >= 700, `${latency.total.count} DMs delivered`);
    for (const stat of ['count', 'min', 'avg', 'med', 'p90', 'p95', 'p99', 'max']) assert.ok(stat in latency.total);
    assert.ok(latency.byTags.some((entry: any) => entry.tags.replica === 'loadtest-hub-1'));
    assert.ok(summary.registry.metrics.some((m: any) => m.name === 'dm_latency' && m.type === 'trend'));
  });

  it('exits 99 when a threshold fails', async () => {
    const result = await runLoadTest({
      scenario: 'dm',
      profile: 'smoke',
      reportRoot,
      print: quiet,
      options: (defaults) => ({
        scenarios: { dm: { ...defaults.scenarios.dm!, duration: '2s', rate: 10 } },
        // No DM crosses two hubs, Postgres and back within a microsecond.
        thresholds: { ...defaults.thresholds, dm_latency: ['p(95)<0.001'] },
      }),
    });
    assert.equal(result.error, undefined);
    assert.equal(result.exitCode, THRESHOLDS_FAILED_EXIT_CODE);
    const failed = result.summary!.thresholds.filter((t) => !t.passed);
    assert.deepEqual(
      failed.map((t) => t.key),
      ['dm_latency'],
    );
  });
});
