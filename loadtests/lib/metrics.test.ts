import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Counter, Gauge, Rate, Trend } from './metrics.ts';
import { Registry } from './registry.ts';

/** HDR's 3 significant digits: a reported value is within 0.1% of the recorded one. */
function assertWithinHdrPrecision(actual: number | undefined, expected: number) {
  assert.ok(actual !== undefined && Math.abs(actual - expected) <= expected * 0.001, `${actual} ≉ ${expected}`);
}

describe('Trend', () => {
  test('reports count, min, max and mean exactly and percentiles to 3 significant digits, in ms', () => {
    const trend = new Trend('dm_latency');
    for (let ms = 1; ms <= 1000; ms++) trend.add(ms);

    const sink = trend.select();
    assert.equal(sink.count, 1000);
    assert.equal(sink.min, 1);
    assert.equal(sink.max, 1000);
    assert.equal(sink.avg, 500.5);
    assertWithinHdrPrecision(sink.med, 500);
    assertWithinHdrPrecision(sink.percentile(95), 950);
    assertWithinHdrPrecision(sink.percentile(99.9), 999);
  });

  test('keeps microsecond resolution for sub-millisecond values', () => {
    const trend = new Trend('ws_send');
    trend.add(0.25);
    trend.add(0.0004);
    assert.equal(trend.select().max, 0.25);
    assert.equal(trend.select().min, 0);
    assert.equal(trend.select().percentile(100), 0.25);
  });

  test('records values beyond an hour instead of failing', () => {
    const trend = new Trend('slow');
    trend.add(2 * 3_600_000);
    assert.equal(trend.select().max, 7_200_000);
    assertWithinHdrPrecision(trend.select().med, 7_200_000);
  });

  test('has no stats before the first sample', () => {
    const sink = new Trend('idle').select();
    assert.equal(sink.count, 0);
    assert.equal(sink.avg, undefined);
    assert.equal(sink.percentile(95), undefined);
  });

  test('rejects negative and non-finite durations', () => {
    const trend = new Trend('dm_latency');
    assert.throws(() => trend.add(-1), /trend values must be finite and >= 0 \(got -1\)/);
    assert.throws(() => trend.add(Number.NaN), /got NaN/);
  });

  test('rejects a percentile outside 0-100', () => {
    const trend = new Trend('dm_latency');
    trend.add(1);
    assert.throws(() => trend.select().percentile(101), /percentile must be 0-100 \(got 101\)/);
  });
});

describe('tagged samples', () => {
  test('keep a sub-metric per distinct tag set beside the untagged total', () => {
    // given
    const trend = new Trend('dm_latency');
    trend.add(10, { scenario: 'dm', replica: 'a' });
    trend.add(20, { replica: 'a', scenario: 'dm' });
    trend.add(30, { scenario: 'dm', replica: 'b' });
    trend.add(40, { scenario: 'broadcast', replica: 'a' });
    trend.add(50);

    // then: the key order of a tag set does not make it a different one
    assert.deepEqual(trend.tagSets, [
      { scenario: 'dm', replica: 'a' },
      { scenario: 'dm', replica: 'b' },
      { scenario: 'broadcast', replica: 'a' },
    ]);
    assert.equal(trend.select().count, 5);
    assert.equal(trend.select({ scenario: 'dm' }).count, 3);
    assert.equal(trend.select({ scenario: 'dm' }).max, 30);
    assert.equal(trend.select({ replica: 'a' }).avg, (10 + 20 + 40) / 3);
    assert.equal(trend.select({ scenario: 'dm', replica: 'b' }).min, 30);
    assert.equal(trend.select({ scenario: 'login' }).count, 0);
  });
});

describe('Counter', () => {
  test('sums what is added', () => {
    const counter = new Counter('dms_sent');
    counter.add(1, { scenario: 'dm' });
    counter.add(4, { scenario: 'dm' });
    counter.add(2);
    assert.equal(counter.select().count, 7);
    assert.equal(counter.select({ scenario: 'dm' }).count, 5);
  });

  test('rejects negative increments', () => {
    assert.throws(() => new Counter('dms_sent').add(-1), /counter values must be finite and >= 0 \(got -1\)/);
  });
});

describe('Rate', () => {
  test('is the fraction of true samples', () => {
    const rate = new Rate('dm_delivered');
    for (const ok of [true, true, true, false]) rate.add(ok, { scenario: 'dm' });
    rate.add(false, { scenario: 'broadcast' });
    assert.equal(rate.select().rate, 3 / 5);
    assert.equal(rate.select({ scenario: 'dm' }).rate, 3 / 4);
    assert.equal(rate.select({ scenario: 'dm' }).passes, 3);
    assert.equal(new Rate('idle').select().rate, undefined);
  });
});

describe('Gauge', () => {
  test('keeps the last, lowest and highest value', () => {
    const gauge = new Gauge('connections');
    for (const value of [3, 9, 1, 5]) gauge.add(value, { replica: 'a' });
    const sink = gauge.select({ replica: 'a' });
    assert.deepEqual([sink.value, sink.min, sink.max], [5, 1, 9]);
  });

  test('selecting across tag sets gives the value set last in any of them', () => {
    const gauge = new Gauge('connections');
    gauge.add(7, { scenario: 'dm', replica: 'b' });
    gauge.add(2, { scenario: 'dm', replica: 'a' });
    gauge.add(4, { scenario: 'broadcast', replica: 'a' });
    assert.equal(gauge.select({ scenario: 'dm' }).value, 2);
    assert.equal(gauge.select({ scenario: 'dm' }).max, 7);
    assert.equal(gauge.select({ replica: 'b' }).value, 7);
  });
});

test('a metric name must follow k6’s rule', () => {
  assert.throws(() => new Trend('dm latency'), /metric name "dm latency" must match/);
  assert.throws(() => new Counter('1st'), /must match/);
});

describe('Registry', () => {
  test('owns one metric per name and refuses to retype it', () => {
    const registry = new Registry();
    assert.equal(registry.trend('dm_latency'), registry.trend('dm_latency'));
    assert.throws(() => registry.counter('dm_latency'), /metric dm_latency is a trend, not a counter/);
    assert.deepEqual(
      registry.metrics.map((m) => [m.name, m.type]),
      [['dm_latency', 'trend']],
    );
  });

  test('check() records every named check in the checks rate and tells whether all passed', () => {
    // given
    const registry = new Registry();
    const reply = { status: 'ok', ms: 12 };

    // when
    const allPassed = registry.check(
      reply,
      { 'status is ok': (r) => r.status === 'ok', 'under 10 ms': (r) => r.ms < 10 },
      { scenario: 'dm' },
    );
    registry.check(reply, { 'status is ok': (r) => r.status === 'ok' }, { scenario: 'broadcast' });

    // then
    assert.equal(allPassed, false);
    const checks = registry.rate('checks');
    assert.equal(checks.select().rate, 2 / 3);
    assert.equal(checks.select({ check: 'status is ok' }).rate, 1);
    assert.equal(checks.select({ check: 'status is ok' }).total, 2);
    assert.equal(checks.select({ check: 'under 10 ms' }).rate, 0);
    assert.equal(checks.select({ scenario: 'dm' }).total, 2);
  });
});
