import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { arrivalOffsets, vuSteps } from './schedules.ts';

describe('arrivalOffsets', () => {
  test('a constant rate starts evenly spaced iterations, the first at 0 and none at the end', () => {
    const offsets = [...arrivalOffsets(50, [{ target: 50, durationMs: 1_000 }], 1_000)];
    assert.equal(offsets.length, 50);
    assert.deepEqual(offsets.slice(0, 3), [0, 20, 40]);
    assert.equal(offsets.at(-1), 980);
  });

  test('the time unit scales the rate: 3 per minute over 2 minutes is 6 iterations 20 s apart', () => {
    const offsets = [...arrivalOffsets(3, [{ target: 3, durationMs: 120_000 }], 60_000)];
    assert.deepEqual(
      offsets.map((ms) => Math.round(ms)),
      [0, 20_000, 40_000, 60_000, 80_000, 100_000],
    );
  });

  test('a linear ramp starts as many iterations as the area under the rate, more of them late', () => {
    // 0 → 100/s over 1 s: 50 iterations, iteration k at sqrt(k / 50) s
    const offsets = [...arrivalOffsets(0, [{ target: 100, durationMs: 1_000 }], 1_000)];
    assert.equal(offsets.length, 50);
    assert.ok(Math.abs(offsets[8]! - 400) < 1e-9);
    assert.equal(offsets.filter((ms) => ms < 500).length, 13);
  });

  test('ramps down, holds at zero and jumps through a stage of no duration', () => {
    const stages = [
      { target: 0, durationMs: 1_000 },
      { target: 0, durationMs: 500 },
      { target: 10, durationMs: 0 },
      { target: 10, durationMs: 1_000 },
    ];
    const offsets = [...arrivalOffsets(100, stages, 1_000)];
    assert.equal(offsets.filter((ms) => ms < 1_000).length, 50);
    assert.equal(offsets.filter((ms) => ms >= 1_000 && ms < 1_500).length, 0);
    assert.deepEqual(offsets.filter((ms) => ms >= 1_500).slice(0, 2), [1_500, 1_600]);
    assert.equal(offsets.length, 60);
    assert.deepEqual(
      [...offsets].sort((a, b) => a - b),
      offsets,
    );
  });
});

describe('vuSteps', () => {
  test('adds and removes one VU at a time, evenly over each stage', () => {
    const steps = vuSteps(0, [
      { target: 3, durationMs: 300 },
      { target: 3, durationMs: 100 },
      { target: 1, durationMs: 200 },
      { target: 4, durationMs: 0 },
    ]);
    assert.deepEqual(steps, [
      { atMs: 0, vus: 0 },
      { atMs: 100, vus: 1 },
      { atMs: 200, vus: 2 },
      { atMs: 300, vus: 3 },
      { atMs: 500, vus: 2 },
      { atMs: 600, vus: 1 },
      { atMs: 600, vus: 2 },
      { atMs: 600, vus: 3 },
      { atMs: 600, vus: 4 },
    ]);
  });
});
