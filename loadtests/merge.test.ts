import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadEnvironment } from '../environments/index.ts';
import { parseOptions } from './lib/options.ts';
import { Registry } from './lib/registry.ts';
import { RUN_LOG_PREFIX } from './lib/run-log.ts';
import type { Slice } from './lib/slices.ts';
import { summarize, type Summary } from './lib/summary.ts';
import { evaluateThresholds, THRESHOLDS_FAILED_EXIT_CODE } from './lib/thresholds.ts';
import { mergeRuns } from './merge.ts';
import * as dm from './scenarios/dm.ts';

const work = mkdtempSync(join(tmpdir(), 'rf-merge-test-'));
after(() => rmSync(work, { recursive: true, force: true }));
const quiet = () => undefined;

const DM_THRESHOLDS = parseOptions(dm.options(loadEnvironment('local').slo, 'smoke')).thresholds;

/** A runner's summary of the dm smoke run on local, as run.ts writes it. */
function summaryOf(registry: Registry, slice?: Slice, overrides: Partial<Summary> = {}): Summary {
  return {
    ...summarize(registry, evaluateThresholds(registry, DM_THRESHOLDS), {
      scenario: 'dm',
      environment: 'local',
      profile: 'smoke',
      startedAt: '2026-12-01T10:00:00.000Z',
      finishedAt: `2026-12-01T10:00:${String(20 + (slice?.index ?? 0)).padStart(2, '0')}.000Z`,
      ...(slice ? { slice } : {}),
    }),
    ...overrides,
  };
}

let dirs = 0;
function runDir(summary: unknown): string {
  const dir = join(work, `run-${dirs++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary));
  return dir;
}

/** Every sample once into `whole` and once into one of `parts`. */
function record(whole: Registry, parts: Registry[], samples: number): void {
  for (let i = 0; i < samples; i++) {
    const tags = { scenario: 'dm', replica: i % 5 < 2 ? 'loadtest-hub-1' : 'loadtest-hub-2' };
    // Spread over 0.2-40 ms with a long tail every 33rd sample: p(95) stays under the local SLO of 100 ms.
    const spread = ((i * 7919) % 1000) / 1000;
    const latencyMs = i % 33 === 0 ? 50 + spread * 900 : 0.2 + spread * 40;
    for (const registry of [whole, parts[i % parts.length]!]) {
      registry.trend('dm_latency').add(latencyMs, tags);
      registry.counter('iterations').add(1, tags);
      registry.counter('dm_seq_gaps').add(0);
      registry.check(true, { 'dm delivered': (ok) => ok }, tags);
    }
  }
}

describe('npm run loadtest:merge', () => {
  it('merges the slices of a run into exactly what one registry fed every sample holds', () => {
    const whole = new Registry();
    const parts = [new Registry(), new Registry(), new Registry()];
    record(whole, parts, 9_001);
    const out = join(work, 'merged');
    const lines: string[] = [];
    const result = mergeRuns(
      parts.map((registry, index) => runDir(summaryOf(registry, { index, count: 3 }))),
      out,
      (line) => lines.push(line),
    );
    assert.equal(result.error, undefined);
    assert.equal(result.exitCode, 0);
    const merged = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;
    const expected = summaryOf(whole);
    // Every stat, in total and per tag set: counts, min, max, avg, med, p90, p95, p99.
    assert.deepEqual(merged.metrics, expected.metrics);
    assert.equal(merged.metrics.dm_latency!.total.count, 9_001);
    const mergedTrend = Registry.merge([merged.registry]).trend('dm_latency').select();
    for (const p of [50, 90, 95, 99, 99.9]) {
      assert.equal(mergedTrend.percentile(p), whole.trend('dm_latency').select().percentile(p), `p(${p})`);
    }
    assert.deepEqual(merged.thresholds, expected.thresholds);
    assert.equal(merged.slice, undefined);
    assert.equal(merged.mergedFrom!.length, 3);
    assert.equal(merged.startedAt, '2026-12-01T10:00:00.000Z');
    assert.equal(merged.finishedAt, '2026-12-01T10:00:22.000Z', 'the last slice to finish');
    assert.ok(
      lines
        .join('\n')
        .split('\n')
        .some((line) => /^dm_latency\s+p\(95\)<100\s+[\d.]+\s+pass$/.test(line)),
      lines.join('\n'),
    );
  });

  it('exits 99 when the whole breaks a threshold', () => {
    const [a, b] = [new Registry(), new Registry()];
    record(new Registry(), [a, b], 100);
    b.counter('dm_seq_gaps').add(1);
    const result = mergeRuns(
      [runDir(summaryOf(a, { index: 0, count: 2 })), runDir(summaryOf(b, { index: 1, count: 2 }))],
      join(work, 'merged-99'),
      quiet,
    );
    assert.equal(result.exitCode, THRESHOLDS_FAILED_EXIT_CODE);
    assert.deepEqual(
      result.summary!.thresholds.filter((t) => !t.passed).map((t) => [t.key, t.observed]),
      [['dm_seq_gaps', 1]],
    );
  });

  it("reads a pod's saved log: the runner's run line", () => {
    const [a, b] = [new Registry(), new Registry()];
    record(new Registry(), [a, b], 10);
    const log = (registry: Registry, index: number) => {
      const path = join(work, `pod-${index}.log`);
      const files = { 'summary.json': summaryOf(registry, { index, count: 2 }) };
      writeFileSync(
        path,
        `dm: setup\n2026-12-01T10:00:30Z ${RUN_LOG_PREFIX}${JSON.stringify(files)}\nstack: stopping\n`,
      );
      return path;
    };
    const result = mergeRuns([log(a, 0), log(b, 1)], join(work, 'merged-logs'), quiet);
    assert.equal(result.error, undefined);
    assert.equal(result.summary!.metrics.iterations!.total.count, 10);
  });

  describe('refuses what is not the slices of one run, naming the file and the field', () => {
    const registry = new Registry();
    record(new Registry(), [registry], 10);
    const slice0 = () => runDir(summaryOf(registry, { index: 0, count: 2 }));
    const slice1 = () => runDir(summaryOf(registry, { index: 1, count: 2 }));
    const fails = (paths: string[], message: RegExp) => {
      const result = mergeRuns(paths, join(work, 'refused'), quiet);
      assert.equal(result.exitCode, 1);
      assert.match(result.error!.message, message);
    };

    it('a summary of another scenario', () => {
      const other = runDir(summaryOf(registry, { index: 1, count: 2 }, { scenario: 'fanout' }));
      fails([slice0(), other], new RegExp(`^${other}/summary\\.json: scenario is "fanout", but .* has "dm"`));
    });

    it("thresholds that are not the scenario's", () => {
      const summary = summaryOf(registry, { index: 1, count: 2 });
      const changed = {
        ...summary,
        thresholds: summary.thresholds.map((t) => (t.key === 'dm_latency' ? { ...t, expression: 'p(95)<0.001' } : t)),
      };
      const dir = runDir(changed);
      fails(
        [slice0(), dir],
        new RegExp(
          `^${dir}/summary\\.json: thresholds are \\[dm_latency p\\(95\\)<0\\.001, .*are \\[dm_latency p\\(95\\)<100`,
        ),
      );
    });

    it('a missing or broken registry snapshot', () => {
      // JSON leaves an undefined field out.
      const dir = runDir({ ...summaryOf(registry, { index: 1, count: 2 }), registry: undefined });
      fails(
        [slice0(), dir],
        new RegExp(`^${dir}/summary\\.json: registry: is missing: not the summary\\.json of a load-test run`),
      );
      const broken = runDir({ ...summaryOf(registry, { index: 1, count: 2 }), registry: { metrics: [{ name: 'x' }] } });
      fails([slice0(), broken], new RegExp(`^${broken}/summary\\.json: registry: registry snapshot 0 is invalid`));
    });

    it('a slice twice, a slice missing, or a whole run among slices', () => {
      const first = slice0();
      const again = slice0();
      fails([first, again], new RegExp(`^${again}/summary\\.json: slice 0/2 is also ${first}/summary\\.json`));
      fails([slice0()], /^slice 1\/2 missing: give every slice of the run/);
      const whole = runDir(summaryOf(registry));
      fails(
        [slice0(), whole],
        new RegExp(`^${whole}/summary\\.json: slice is absent \\(a whole run\\), but .* is one of 2 slices`),
      );
      fails([slice0(), slice1(), join(work, 'nowhere')], /nowhere: no such file or directory/);
    });
  });
});
