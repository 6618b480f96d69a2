import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDuration } from './durations.ts';
import { OptionsError, parseOptions } from './options.ts';

function problemsOf(input: unknown): readonly string[] {
  try {
    parseOptions(input);
  } catch (error) {
    assert.ok(error instanceof OptionsError);
    return error.problems;
  }
  assert.fail('the options were accepted');
}

describe('parseDuration', () => {
  test('reads k6 durations into milliseconds', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('1h2m3s4ms'), 3_723_004);
    assert.equal(parseDuration('1.5s'), 1_500);
    assert.equal(parseDuration('0s'), 0);
  });

  test('rejects anything else', () => {
    for (const bad of ['30', '1 m', 's', '-1s', '1d', '']) {
      assert.throws(() => parseDuration(bad), /must be a duration like 500ms, 30s or 1m30s/, bad);
    }
  });
});

describe('parseOptions', () => {
  test('fills in k6’s defaults for each executor', () => {
    const { scenarios, thresholds } = parseOptions({
      scenarios: {
        dm: { executor: 'constant-arrival-rate', exec: 'dm', rate: 50, duration: '1m', preAllocatedVUs: 20 },
        ramp: {
          executor: 'ramping-arrival-rate',
          stages: [{ target: 10, duration: '30s' }],
          preAllocatedVUs: 2,
          maxVUs: 5,
        },
        soak: { executor: 'constant-vus', duration: '10m', tags: { kind: 'soak' } },
        peak: { executor: 'ramping-vus', stages: [{ target: 100, duration: '1m' }], startTime: '10s' },
      },
    });
    assert.deepEqual(scenarios.dm, {
      executor: 'constant-arrival-rate',
      exec: 'dm',
      tags: {},
      startTime: '0s',
      gracefulStop: '30s',
      rate: 50,
      timeUnit: '1s',
      duration: '1m',
      preAllocatedVUs: 20,
      maxVUs: 20,
    });
    assert.deepEqual(scenarios.ramp, {
      executor: 'ramping-arrival-rate',
      exec: 'default',
      tags: {},
      startTime: '0s',
      gracefulStop: '30s',
      startRate: 0,
      timeUnit: '1s',
      stages: [{ target: 10, duration: '30s' }],
      preAllocatedVUs: 2,
      maxVUs: 5,
    });
    assert.deepEqual(scenarios.soak, {
      executor: 'constant-vus',
      exec: 'default',
      tags: { kind: 'soak' },
      startTime: '0s',
      gracefulStop: '30s',
      vus: 1,
      duration: '10m',
    });
    assert.deepEqual(scenarios.peak, {
      executor: 'ramping-vus',
      exec: 'default',
      tags: {},
      startTime: '10s',
      gracefulStop: '30s',
      startVUs: 1,
      stages: [{ target: 100, duration: '1m' }],
      gracefulRampDown: '30s',
    });
    assert.deepEqual(thresholds, []);
  });

  test('errors name the field path and the rule, and echo what was received', () => {
    const problems = problemsOf({
      scenarios: {
        dm: { executor: 'constant-arrival-rate', rate: 0, duration: '1 minute', preAllocatedVUs: 2, maxVus: 4 },
        peak: { executor: 'ramping-vus', stages: [{ target: -1, duration: '1m' }] },
        typo: { executor: 'constant-vu', duration: '1m' },
      },
    });
    assert.deepEqual(problems, [
      'scenarios.dm.rate: Too small: expected number to be >0 (got 0)',
      'scenarios.dm.duration: must be a duration like 500ms, 30s or 1m30s (got "1 minute")',
      'scenarios.dm: Unrecognized key: "maxVus"',
      'scenarios.peak.stages[0].target: Too small: expected number to be >=0 (got -1)',
      'scenarios.typo.executor: must be one of constant-arrival-rate, ramping-arrival-rate, constant-vus, ramping-vus (got "constant-vu")',
    ]);
  });

  test('rejects a VU pool whose maximum is below its preallocation', () => {
    const problems = problemsOf({
      scenarios: { dm: { executor: 'constant-arrival-rate', rate: 5, duration: '1m', preAllocatedVUs: 10, maxVUs: 4 } },
    });
    assert.deepEqual(problems, ['scenarios.dm.maxVUs: must be >= preAllocatedVUs (10) (got 4)']);
  });

  test('rejects an arrival rate with no VU at all', () => {
    const problems = problemsOf({
      scenarios: { dm: { executor: 'constant-arrival-rate', rate: 5, duration: '1m', preAllocatedVUs: 0 } },
    });
    assert.deepEqual(problems, ['scenarios.dm.maxVUs: must be > 0 (or preAllocatedVUs must be)']);
  });

  test('rejects ramps that never leave zero and durations of zero where time must pass', () => {
    const problems = problemsOf({
      scenarios: {
        idle: { executor: 'ramping-vus', startVUs: 0, stages: [{ target: 0, duration: '1m' }] },
        none: { executor: 'ramping-arrival-rate', stages: [{ target: 0, duration: '1m' }], preAllocatedVUs: 1 },
        instant: { executor: 'constant-vus', duration: '0s' },
      },
    });
    assert.deepEqual(problems, [
      'scenarios.idle.stages: startVUs or a stage target must be > 0',
      'scenarios.none.stages: startRate or a stage target must be > 0',
      'scenarios.instant.duration: must be longer than 0s (got "0s")',
    ]);
  });

  test('requires at least one scenario, each with an executor and a usable name', () => {
    assert.deepEqual(problemsOf({}), ['scenarios: is required (record)']);
    assert.deepEqual(problemsOf({ scenarios: {} }), ['scenarios: must declare at least one scenario']);
    assert.deepEqual(problemsOf({ scenarios: { dm: { duration: '1m' } } }), [
      'scenarios.dm.executor: is required (one of constant-arrival-rate, ramping-arrival-rate, constant-vus, ramping-vus)',
    ]);
    assert.deepEqual(problemsOf({ scenarios: { 'dm and more': { executor: 'constant-vus', duration: '1m' } } }), [
      'scenarios.dm and more: a scenario name may hold only letters, digits, _ and -',
    ]);
  });
});
