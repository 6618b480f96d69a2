import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Tags } from './metrics.ts';
import { Registry } from './registry.ts';

/** mulberry32: a seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SELECTORS: Tags[] = [
  {},
  { scenario: 'dm' },
  { scenario: 'broadcast' },
  { replica: 'b' },
  { scenario: 'dm', replica: 'c' },
];

function trendFigures(registry: Registry, selector: Tags) {
  const sink = registry.trend('dm_latency').select(selector);
  return {
    count: sink.count,
    min: sink.min,
    max: sink.max,
    avg: sink.avg,
    med: sink.med,
    p90: sink.percentile(90),
    p95: sink.percentile(95),
    p99: sink.percentile(99),
    p999: sink.percentile(99.9),
  };
}

function otherFigures(registry: Registry, selector: Tags) {
  const gauge = registry.gauge('connections').select(selector);
  return {
    sent: registry.counter('dms_sent').select(selector).count,
    delivered: registry.rate('dm_delivered').select(selector).rate,
    checks: registry.rate('checks').select({ ...selector, check: 'delivered' }).rate,
    connections: [gauge.value, gauge.min, gauge.max],
  };
}

describe('Registry.merge', () => {
  test('N serialized registries merge into exactly what one registry fed every sample holds', () => {
    // given: 20 000 samples from 0.01 ms to ~10 s, spread at random over 5 generators
    const next = random(42);
    const generators = Array.from({ length: 5 }, () => new Registry());
    const whole = new Registry();
    for (let i = 0; i < 20_000; i++) {
      const tags = { scenario: next() < 0.7 ? 'dm' : 'broadcast', replica: 'abc'[Math.floor(next() * 3)]! };
      const latencyMs = Math.exp(next() * 14) / 100;
      const delivered = next() < 0.98;
      const connections = Math.floor(next() * 1000);
      const generator = generators[Math.floor(next() * generators.length)]!;
      for (const registry of [generator, whole]) {
        registry.trend('dm_latency').add(latencyMs, tags);
        registry.counter('dms_sent').add(1, tags);
        registry.rate('dm_delivered').add(delivered, tags);
        registry.gauge('connections').add(connections, tags);
        registry.check(delivered, { delivered: (ok) => ok }, tags);
      }
    }

    // when: each generator's registry crosses the wire as JSON
    const wire = generators.map((registry) => JSON.stringify(registry));
    const merged = Registry.merge(wire.map((text) => JSON.parse(text)));

    // then
    assert.match(JSON.parse(wire[0]!).metrics[0].total.histogram, /^[A-Za-z0-9+/]+=*$/);
    assert.equal(merged.trend('dm_latency').select().count, 20_000);
    for (const selector of SELECTORS) {
      assert.deepEqual(trendFigures(merged, selector), trendFigures(whole, selector), JSON.stringify(selector));
      assert.deepEqual(otherFigures(merged, selector), otherFigures(whole, selector), JSON.stringify(selector));
    }
    assert.equal(merged.trend('dm_latency').tagSets.length, whole.trend('dm_latency').tagSets.length);
  });

  test('a merged registry serializes and merges again without loss', () => {
    const registry = new Registry();
    for (const ms of [0.5, 3, 42, 900]) registry.trend('dm_latency').add(ms, { scenario: 'dm' });
    const twice = Registry.merge([Registry.merge([registry.toJSON()]).toJSON()]);
    assert.deepEqual(trendFigures(twice, { scenario: 'dm' }), trendFigures(registry, { scenario: 'dm' }));
  });

  test('rejects a snapshot that is not a registry, naming the snapshot and the field', () => {
    const good = new Registry();
    good.counter('dms_sent').add(1);
    const bad = { metrics: [{ name: 'dms_sent', type: 'counter', total: { count: -1 }, byTags: [] }] };
    assert.throws(
      () => Registry.merge([good.toJSON(), bad]),
      /registry snapshot 1 is invalid:\n {2}- metrics\[0\]\.total\.count: Too small/,
    );
  });

  test('rejects metrics of one name but different types across snapshots', () => {
    const a = new Registry();
    a.counter('dm_latency').add(1);
    const b = new Registry();
    b.trend('dm_latency').add(1);
    assert.throws(() => Registry.merge([a.toJSON(), b.toJSON()]), /metric dm_latency is a counter, not a trend/);
  });
});
