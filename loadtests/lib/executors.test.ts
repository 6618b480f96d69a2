import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { runScenario, type IterationContext } from './executors.ts';
import { parseOptions } from './options.ts';
import { Registry } from './registry.ts';

function scenario(input: Record<string, unknown>) {
  return parseOptions({ scenarios: { dm: input } }).scenarios.dm!;
}

/** Resolves after `ms`, or as soon as the iteration is interrupted. */
function work(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch(() => undefined);
}

/** Runs a scenario, noting when (ms from the start) and on which VU each iteration started. */
async function run(input: Record<string, unknown>, iteration: (ctx: IterationContext) => Promise<void>) {
  const registry = new Registry();
  const starts: { atMs: number; vu: number }[] = [];
  const origin = performance.now();
  await runScenario(
    'dm',
    scenario(input),
    (ctx) => {
      starts.push({ atMs: performance.now() - origin, vu: ctx.vu });
      return iteration(ctx);
    },
    { registry },
  );
  return { registry, starts, elapsedMs: performance.now() - origin };
}

const vusStartingBetween = (starts: { atMs: number; vu: number }[], fromMs: number, toMs: number) =>
  new Set(starts.filter(({ atMs }) => atMs >= fromMs && atMs < toMs).map(({ vu }) => vu));

describe('constant-arrival-rate', () => {
  test('starts iterations on schedule however long earlier ones take, then stops by itself', async () => {
    // given: 50/s for 1 s, each iteration taking 300 ms
    const input = { executor: 'constant-arrival-rate', rate: 50, duration: '1s', preAllocatedVUs: 20, maxVUs: 50 };

    // when
    const { registry, starts, elapsedMs } = await run(input, (ctx) => work(300, ctx.signal));

    // then
    assert.ok(Math.abs(starts.length - 50) <= 3, `${starts.length} iterations started`);
    assert.ok(Math.abs(starts.filter(({ atMs }) => atMs < 500).length - 25) <= 3, 'half of them in the first half');
    assert.equal(registry.counter('iterations').select({ scenario: 'dm' }).count, starts.length);
    assert.equal(registry.counter('dropped_iterations').select().count, 0);
    const durations = registry.trend('iteration_duration').select({ scenario: 'dm' });
    assert.equal(durations.count, starts.length);
    assert.ok(durations.min! >= 299, `iteration_duration min ${durations.min}`);
    assert.ok(elapsedMs >= 1_000 && elapsedMs < 2_000, `ran for ${elapsedMs} ms`);
  });

  test('drops the iterations no VU is free for, growing the pool to maxVUs first', async () => {
    const input = { executor: 'constant-arrival-rate', rate: 50, duration: '1s', preAllocatedVUs: 1, maxVUs: 2 };

    const { registry, starts } = await run(input, (ctx) => work(300, ctx.signal));

    const dropped = registry.counter('dropped_iterations').select({ scenario: 'dm' }).count;
    assert.ok(dropped > 0, 'some iterations were dropped');
    assert.equal(starts.length + dropped, 50);
    assert.deepEqual(new Set(starts.map(({ vu }) => vu)), new Set([1, 2]));
    assert.equal(registry.gauge('vus').select({ scenario: 'dm' }).max, 2);
  });

  test('waits for its startTime', async () => {
    const input = {
      executor: 'constant-arrival-rate',
      rate: 10,
      duration: '200ms',
      preAllocatedVUs: 1,
      startTime: '300ms',
    };

    const { starts } = await run(input, async () => {});

    assert.equal(starts.length, 2);
    assert.ok(starts[0]!.atMs >= 299, `first start at ${starts[0]!.atMs} ms`);
  });
});

describe('ramping-arrival-rate', () => {
  test('ramps the rate linearly: 0 → 100/s over 1 s starts ~50 iterations, most of them late', async () => {
    const input = {
      executor: 'ramping-arrival-rate',
      stages: [{ target: 100, duration: '1s' }],
      preAllocatedVUs: 10,
      maxVUs: 20,
    };

    const { registry, starts } = await run(input, (ctx) => work(20, ctx.signal));

    assert.ok(Math.abs(starts.length - 50) <= 3, `${starts.length} iterations started`);
    // The area under the ramp's first half is a quarter of the whole: 12.5 of 50.
    assert.ok(Math.abs(starts.filter(({ atMs }) => atMs < 500).length - 13) <= 3, 'a quarter in the first half');
    assert.equal(registry.counter('iterations').select({ scenario: 'dm' }).count, starts.length);
  });
});

describe('constant-vus', () => {
  test('keeps every VU looping its iteration until the duration is over', async () => {
    const input = { executor: 'constant-vus', vus: 3, duration: '500ms' };

    const { registry, starts, elapsedMs } = await run(input, (ctx) => work(100, ctx.signal));

    assert.deepEqual(new Set(starts.map(({ vu }) => vu)), new Set([1, 2, 3]));
    assert.ok(starts.length >= 12 && starts.length <= 18, `${starts.length} iterations`);
    assert.ok(
      starts.every(({ atMs }) => atMs < 510),
      'none started after the end',
    );
    assert.equal(registry.counter('iterations').select({ scenario: 'dm' }).count, starts.length);
    assert.ok(elapsedMs < 1_000, `ran for ${elapsedMs} ms`);
  });

  test('returns after gracefulStop even when an iteration ignores its signal, without counting it', async () => {
    const input = { executor: 'constant-vus', vus: 1, duration: '200ms', gracefulStop: '100ms' };
    const registry = new Registry();
    let interrupted = false;
    const origin = performance.now();

    await runScenario(
      'dm',
      scenario(input),
      async (ctx) => {
        ctx.signal.addEventListener('abort', () => (interrupted = true));
        await delay(1_500);
      },
      { registry },
    );

    const elapsedMs = performance.now() - origin;
    // 200 ms of duration and 100 ms of gracefulStop, less a timer's millisecond of slack
    assert.ok(elapsedMs >= 295 && elapsedMs < 1_000, `returned after ${elapsedMs} ms`);
    assert.equal(interrupted, true);
    assert.equal(registry.counter('iterations').select().count, 0);
  });
});

describe('ramping-vus', () => {
  test('reaches each stage’s target, one VU at a time, and back down to none', async () => {
    // given: VUs join at 200, 400, 600 and 800 ms, hold, and leave at 1400, 1600, 1800 and 2000 ms
    const input = {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { target: 4, duration: '800ms' },
        { target: 4, duration: '400ms' },
        { target: 0, duration: '800ms' },
      ],
    };

    // when
    const { registry, starts } = await run(input, (ctx) => work(50, ctx.signal));

    // then
    assert.deepEqual(vusStartingBetween(starts, 0, 150), new Set());
    assert.deepEqual(vusStartingBetween(starts, 250, 350), new Set([1]));
    assert.deepEqual(vusStartingBetween(starts, 900, 1_150), new Set([1, 2, 3, 4]));
    assert.ok(
      [...vusStartingBetween(starts, 1_700, 1_750)].every((vu) => vu <= 2),
      'down to 2 VUs',
    );
    assert.ok(
      [...vusStartingBetween(starts, 1_900, Infinity)].every((vu) => vu === 1),
      'down to 1 VU',
    );
    const vus = registry.gauge('vus').select({ scenario: 'dm' });
    assert.deepEqual([vus.max, vus.value], [4, 0]);
  });

  test('interrupts a VU removed by a ramp-down once gracefulRampDown has passed', async () => {
    // given: 2 VUs whose iterations only end when interrupted; one is removed at 100 ms
    const input = {
      executor: 'ramping-vus',
      startVUs: 2,
      stages: [
        { target: 2, duration: '100ms' },
        { target: 1, duration: '0s' },
        { target: 1, duration: '400ms' },
      ],
      gracefulRampDown: '100ms',
      gracefulStop: '100ms',
    };
    const interruptedAt = new Map<number, number>();
    const origin = performance.now();

    // when
    const { registry } = await run(input, async (ctx) => {
      ctx.signal.addEventListener('abort', () => interruptedAt.set(ctx.vu, performance.now() - origin));
      await work(10_000, ctx.signal);
    });

    // then: VU 2 after the ramp-down's grace, VU 1 after the end's
    const [first, second] = [interruptedAt.get(1)!, interruptedAt.get(2)!];
    assert.ok(second >= 190 && second < 400, `VU 2 interrupted at ${second} ms`);
    assert.ok(first >= 590 && first < 900, `VU 1 interrupted at ${first} ms`);
    assert.equal(registry.counter('iterations').select().count, 0);
  });
});

describe('every executor', () => {
  test('stops at once when the run is aborted, interrupting its iterations', async () => {
    const registry = new Registry();
    const abort = new AbortController();
    let interrupted = 0;
    setTimeout(() => abort.abort(), 200);
    const origin = performance.now();

    await runScenario(
      'dm',
      scenario({ executor: 'constant-vus', vus: 2, duration: '10s' }),
      async (ctx) => {
        await work(10_000, ctx.signal);
        if (ctx.signal.aborted) interrupted++;
      },
      { registry, signal: abort.signal },
    );

    const elapsedMs = performance.now() - origin;
    assert.ok(elapsedMs >= 190 && elapsedMs < 600, `returned after ${elapsedMs} ms`);
    await delay(10);
    assert.equal(interrupted, 2);
  });

  test('counts iterations that threw and reports each error, with its iteration', async () => {
    const registry = new Registry();
    const errors: [string, number][] = [];

    await runScenario(
      'dm',
      scenario({ executor: 'constant-arrival-rate', rate: 20, duration: '500ms', preAllocatedVUs: 5 }),
      async (ctx) => {
        if (ctx.iteration % 2 === 1) throw new Error(`hub closed the socket (${ctx.iteration})`);
      },
      { registry, onIterationError: (error, ctx) => errors.push([(error as Error).message, ctx.iteration]) },
    );

    assert.deepEqual(
      errors.map(([, iteration]) => iteration),
      [1, 3, 5, 7, 9],
    );
    assert.equal(errors[0]![0], 'hub closed the socket (1)');
    assert.equal(registry.counter('iteration_errors').select({ scenario: 'dm' }).count, 5);
    assert.equal(registry.counter('iterations').select({ scenario: 'dm' }).count, 10);
  });

  test('tags what an iteration records with the scenario and its tags', async () => {
    const registry = new Registry();

    await runScenario(
      'dm',
      scenario({ executor: 'constant-vus', vus: 1, duration: '100ms', tags: { replica: 'a' } }),
      async (ctx) => {
        ctx.check(ctx.vu, { 'on VU 1': (vu) => vu === 1 });
        registry.trend('dm_latency').add(5, ctx.tags);
        await work(20, ctx.signal);
      },
      { registry },
    );

    const checks = registry.rate('checks').select({ scenario: 'dm', replica: 'a', check: 'on VU 1' });
    assert.ok(checks.total > 0);
    assert.equal(checks.rate, 1);
    assert.equal(
      registry.trend('dm_latency').select({ scenario: 'dm', replica: 'a' }).count,
      registry.counter('iterations').select({ scenario: 'dm', replica: 'a' }).count,
    );
  });
});
