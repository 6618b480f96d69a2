import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Registry } from './registry.ts';
import {
  SERIES_FILE,
  SeriesRecorder,
  intervalCount,
  intervalPercentiles,
  intervalSeconds,
  mergeSeries,
  readSeries,
  type Series,
} from './timeseries.ts';

const START = 1_700_000_000_000;

/** A clock the test moves by hand. */
function clock(at = START) {
  let now = at;
  return { now: () => now, set: (ms: number) => (now = START + ms) };
}

const PERCENTILES = [0, 50, 90, 95, 99, 99.9, 100];

/** Per interval: how many samples each trend had and its percentiles, what counters and rates gained. */
function readable(series: Series) {
  return series.intervals.map((interval) => ({
    index: interval.index,
    trends: Object.fromEntries(
      Object.entries(interval.trends).map(([name, encoded]) => [name, intervalPercentiles(encoded, PERCENTILES)]),
    ),
    counters: interval.counters,
    rates: interval.rates,
  }));
}

describe('series recorder', () => {
  it('books what each metric gained into the interval it was gained in', () => {
    const registry = new Registry();
    registry.counter('iterations').add(7); // during setup: not part of the series
    const time = clock();
    let connections = 3;
    const recorder = new SeriesRecorder(registry, {
      startMs: START,
      now: time.now,
      levels: { connections: () => connections },
    });
    registry.counter('iterations').add(2);
    registry.trend('latency').add(10);
    registry.trend('latency').add(30);
    registry.rate('checks').add(true);
    registry.rate('checks').add(false);
    time.set(1_004);
    recorder.look();
    connections = 5;
    registry.trend('latency').add(500);
    registry.gauge('hub_rss_mib').add(80, { replica: 'hub-1' });
    registry.gauge('hub_rss_mib').add(90, { replica: 'hub-2' });
    time.set(1_500);
    const series = recorder.stop();

    assert.deepEqual(
      series.intervals.map((i) => i.index),
      [0, 1],
    );
    const [first, second] = series.intervals;
    assert.deepEqual(first!.counters, { iterations: 2 });
    assert.deepEqual(first!.rates, { checks: { passes: 1, total: 2 } });
    assert.deepEqual(first!.levels, { connections: 3 });
    assert.deepEqual(first!.gauges, {});
    assert.deepEqual(intervalPercentiles(first!.trends.latency!, [0, 100]).map(Math.round), [10, 30]);
    assert.equal(intervalCount(first!.trends.latency!), 2);
    assert.deepEqual(second!.counters, {});
    assert.deepEqual(second!.levels, { connections: 5 });
    assert.deepEqual(second!.gauges, {
      hub_rss_mib: 90,
      'hub_rss_mib{replica:hub-1}': 80,
      'hub_rss_mib{replica:hub-2}': 90,
    });
    // Only the new sample, not the run so far.
    assert.deepEqual(intervalPercentiles(second!.trends.latency!, [0, 100]).map(Math.round), [500, 500]);
    assert.equal(series.endMs, START + 1_500);
    assert.equal(intervalSeconds(series, 0), 1);
    assert.equal(intervalSeconds(series, 1), 0.5);
  });

  it('adds two looks that fall into one interval; the later level and gauge win', () => {
    const registry = new Registry();
    const time = clock();
    let vus = 5;
    const recorder = new SeriesRecorder(registry, { startMs: START, now: time.now, levels: { vus: () => vus } });
    registry.counter('iterations').add(1);
    registry.gauge('vus').add(2);
    registry.gauge('hub_rss_mib').add(75);
    time.set(200);
    recorder.look();
    registry.counter('iterations').add(3);
    registry.gauge('vus').add(1);
    registry.gauge('hub_rss_mib').add(70);
    vus = 3;
    time.set(600);
    const series = recorder.stop();
    // The registry's vus gauge is left to the level read for it.
    assert.deepEqual(series.intervals, [
      { index: 0, trends: {}, counters: { iterations: 4 }, rates: {}, levels: { vus: 3 }, gauges: { hub_rss_mib: 70 } },
    ]);
  });

  it('looks at each interval boundary once started', async () => {
    const registry = new Registry();
    const recorder = new SeriesRecorder(registry, { startMs: Date.now(), intervalMs: 50 }).start();
    for (let i = 0; i < 4; i++) {
      registry.counter('iterations').add(1);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const series = recorder.stop();
    assert.ok(series.intervals.length >= 3, `${series.intervals.length} intervals`);
    assert.equal(
      series.intervals.reduce((sum, i) => sum + (i.counters.iterations ?? 0), 0),
      4,
    );
  });
});

describe('mergeSeries', () => {
  /** Deterministic latencies spread from microseconds to seconds, so every histogram bucket size takes part. */
  const latency = (i: number) => ((i * 7919) % 10_007) ** 1.6 / 1_000 + 0.05;

  it('gives each interval the same percentiles as one recorder fed every sample', () => {
    const processes = [new Registry(), new Registry(), new Registry()];
    const everything = new Registry();
    const time = clock();
    const recorders = processes.map((r) => new SeriesRecorder(r, { startMs: START, now: time.now }));
    const whole = new SeriesRecorder(everything, { startMs: START, now: time.now });
    let sample = 0;
    for (let second = 0; second < 6; second++) {
      // An uneven share per process and per interval, one interval with no samples at all.
      const samples = second === 3 ? 0 : 200 + second * 150;
      for (let i = 0; i < samples; i++, sample++) {
        const process = processes[(sample * 31) % 3 === 0 ? 0 : sample % 2 === 0 ? 1 : 2]!;
        for (const registry of [process, everything]) {
          registry.trend('fanout_latency').add(latency(sample));
          registry.counter('iterations').add(1);
          registry.rate('checks').add(sample % 97 !== 0);
        }
      }
      time.set((second + 1) * 1000 + 3);
      for (const recorder of [...recorders, whole]) recorder.look();
    }
    const merged = recorders.map((r) => r.series).reduce(mergeSeries);
    const expected = readable(whole.series);
    assert.deepEqual(readable(merged), expected);
    assert.equal(expected.length, 6);
    assert.ok(expected[0]!.trends.fanout_latency!.every((v, i, all) => i === 0 || v >= all[i - 1]!));
    assert.deepEqual(expected[3]!.trends, {});
    // Not merely equal because each process saw everything: each saw a part.
    for (const recorder of recorders) {
      assert.ok(readable(recorder.series)[0]!.counters.iterations! < expected[0]!.counters.iterations!);
    }
  });

  it('sums the levels each process holds, keeps the largest look of a shared gauge and the latest end', () => {
    const empty = { trends: {}, counters: {}, rates: {} };
    const a: Series = {
      startMs: START,
      intervalMs: 1000,
      endMs: START + 2_000,
      intervals: [{ index: 1, ...empty, levels: { connections: 40 }, gauges: { hub_rss_mib: 120 } }],
    };
    const b: Series = {
      ...a,
      endMs: START + 2_500,
      intervals: [
        { index: 0, ...empty, levels: { connections: 10 }, gauges: {} },
        { index: 1, ...empty, levels: { connections: 60 }, gauges: { hub_rss_mib: 118 } },
      ],
    };
    const merged = mergeSeries(a, b);
    assert.equal(merged.endMs, START + 2_500);
    assert.deepEqual(
      merged.intervals.map((i) => [i.index, i.levels.connections, i.gauges.hub_rss_mib]),
      [
        [0, 10, undefined],
        [1, 100, 120],
      ],
    );
  });

  it('adds a histogram holding values beyond the range of the other', () => {
    const small = new Registry();
    const large = new Registry();
    const time = clock();
    const recorders = [small, large].map((r) => new SeriesRecorder(r, { startMs: START, now: time.now }));
    small.trend('t').add(1);
    large.trend('t').add(2 * 3_600_000); // two hours, past the histogram's initial range
    time.set(500);
    const [a, b] = recorders.map((r) => r.stop());
    const merged = mergeSeries(a!, b!);
    assert.deepEqual(intervalPercentiles(merged.intervals[0]!.trends.t!, [0]).map(Math.round), [1]);
    assert.ok(intervalPercentiles(merged.intervals[0]!.trends.t!, [100])[0]! >= 2 * 3_600_000);
  });

  it('refuses series whose intervals do not line up', () => {
    const a: Series = { startMs: START, intervalMs: 1000, endMs: START, intervals: [] };
    assert.throws(() => mergeSeries(a, { ...a, startMs: START + 1 }), /do not share intervals/);
    assert.throws(() => mergeSeries(a, { ...a, intervalMs: 500 }), /do not share intervals/);
  });
});

describe('readSeries', () => {
  it('reads back what a run wrote, and names what is wrong in a broken file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rf-series-'));
    try {
      const registry = new Registry();
      const time = clock();
      const recorder = new SeriesRecorder(registry, { startMs: START, now: time.now });
      registry.trend('dm_latency').add(12.5);
      time.set(900);
      const series = recorder.stop();
      writeFileSync(join(dir, SERIES_FILE), JSON.stringify(series));
      assert.deepEqual(readSeries(dir), series);
      writeFileSync(join(dir, SERIES_FILE), JSON.stringify({ ...series, intervalMs: 0 }));
      assert.throws(() => readSeries(dir), /series\.json is invalid:\n {2}- intervalMs/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
