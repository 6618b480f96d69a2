/*
 * k6's executors: how a scenario schedules calls to its iteration function. Each one stops by itself
 * at the end of its duration, gives iterations still running `gracefulStop` to finish, then
 * interrupts them through their signal and returns, so a scenario's run time is bounded whatever
 * its iterations do. It records k6's `iterations`, `iteration_duration`, `vus` and (arrival-rate
 * executors) `dropped_iterations`, and our `iteration_errors`, tagged with the scenario's name and
 * tags.
 */
import { setMaxListeners } from 'node:events';
import { sleep } from './bounded.ts';
import { parseDuration } from './durations.ts';
import type { Tags } from './metrics.ts';
import type { Scenario, ScenarioOf } from './options.ts';
import type { Checks, Registry } from './registry.ts';
import { arrivalOffsets, totalDurationMs, vuSteps, type Ramp } from './schedules.ts';

export interface IterationContext {
  readonly scenario: string;
  /** The VU running this iteration, from 1 within the scenario; a VU runs one iteration at a time. */
  readonly vu: number;
  /** This iteration's number within the scenario, from 0. */
  readonly iteration: number;
  /** `scenario: <name>` and the scenario's tags, for the metrics the iteration records. */
  readonly tags: Tags;
  /** Aborted when the iteration is interrupted: by gracefulStop, gracefulRampDown or the run's signal. */
  readonly signal: AbortSignal;
  /** k6's `check()`, recording with this scenario's tags. */
  check<T>(value: T, checks: Checks<T>, tags?: Tags): boolean;
}

export type Iteration = (ctx: IterationContext) => Promise<void>;

export interface RunContext {
  readonly registry: Registry;
  /** Aborting it ends the scenario at once and interrupts its iterations (a threshold's abortOnFail). */
  readonly signal?: AbortSignal;
  /** Told of each iteration that threw, which is also counted in `iteration_errors`. */
  readonly onIterationError?: (error: unknown, ctx: IterationContext) => void;
}

// A VU yields between iterations so that an iteration that never waits cannot starve the timers.
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function ramps(stages: readonly { target: number; duration: string }[]): Ramp[] {
  return stages.map(({ target, duration }) => ({ target, durationMs: parseDuration(duration) }));
}

/** One scenario's run: starts iterations, records their metrics, and ends them. */
class ScenarioRun {
  readonly #stop = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #metrics;
  #started = 0;
  /** Aborted when the run ends: after gracefulStop, or when the caller's signal aborts. */
  readonly signal: AbortSignal;
  readonly tags: Tags;

  constructor(
    readonly name: string,
    scenario: Scenario,
    private readonly iteration: Iteration,
    private readonly context: RunContext,
  ) {
    this.signal = context.signal ? AbortSignal.any([context.signal, this.#stop.signal]) : this.#stop.signal;
    // Every iteration in flight may listen to it; hundreds at once are normal, not a leak.
    setMaxListeners(0, this.signal);
    this.tags = { ...scenario.tags, scenario: name };
    const { registry } = context;
    this.#metrics = {
      iterations: registry.counter('iterations'),
      iterationDuration: registry.trend('iteration_duration'),
      iterationErrors: registry.counter('iteration_errors'),
      vus: registry.gauge('vus'),
    };
  }

  get registry(): Registry {
    return this.context.registry;
  }

  setVus(count: number): void {
    // VUs that leave after the run was closed would overwrite its final 0.
    if (!this.signal.aborted) this.#metrics.vus.add(count, this.tags);
  }

  /** Runs one iteration on `vu`; `interrupt` ends just this one (a VU removed by a ramp-down). */
  iterate(vu: number, interrupt?: AbortSignal): Promise<void> {
    const running = this.#iterate(vu, interrupt ? AbortSignal.any([this.signal, interrupt]) : this.signal);
    this.#inFlight.add(running);
    void running.then(() => this.#inFlight.delete(running));
    return running;
  }

  async #iterate(vu: number, signal: AbortSignal): Promise<void> {
    const { registry, onIterationError } = this.context;
    const ctx: IterationContext = {
      scenario: this.name,
      vu,
      iteration: this.#started++,
      tags: this.tags,
      signal,
      check: (value, checks, tags) => registry.check(value, checks, { ...this.tags, ...tags }),
    };
    const startedAt = performance.now();
    try {
      await this.iteration(ctx);
    } catch (error) {
      if (!signal.aborted) {
        this.#metrics.iterationErrors.add(1, this.tags);
        onIterationError?.(error, ctx);
      }
    }
    // As in k6, an interrupted iteration is not counted: it may have stopped anywhere.
    if (signal.aborted) return;
    this.#metrics.iterations.add(1, this.tags);
    this.#metrics.iterationDuration.add(performance.now() - startedAt, this.tags);
  }

  /** Gives the iterations still running up to `gracefulStopMs` to finish. */
  async drain(gracefulStopMs: number): Promise<void> {
    const allDone = new AbortController();
    void Promise.allSettled(this.#inFlight).then(() => allDone.abort());
    await sleep(gracefulStopMs, AbortSignal.any([this.signal, allDone.signal]));
  }

  /** Interrupts whatever still runs: the scenario is over and has no VUs left. */
  close(): void {
    this.#metrics.vus.add(0, this.tags);
    this.#stop.abort();
  }
}

/** Starts iterations at the scheduled rate on idle VUs; with every VU busy, the iteration is dropped. */
async function runArrivalRate(
  run: ScenarioRun,
  scenario: ScenarioOf<'constant-arrival-rate' | 'ramping-arrival-rate'>,
  startRate: number,
  stages: readonly Ramp[],
): Promise<void> {
  const dropped = run.registry.counter('dropped_iterations');
  const { preAllocatedVUs, maxVUs } = scenario;
  // Popped from the end, so the lowest ids are used first.
  const idle = Array.from({ length: preAllocatedVUs }, (_, i) => preAllocatedVUs - i);
  let allocated = preAllocatedVUs;
  run.setVus(allocated);
  const origin = performance.now();
  for (const offset of arrivalOffsets(startRate, stages, parseDuration(scenario.timeUnit))) {
    await sleep(origin + offset - performance.now(), run.signal);
    if (run.signal.aborted) return;
    let vu = idle.pop();
    if (vu === undefined && allocated < maxVUs) {
      vu = ++allocated;
      run.setVus(allocated);
    }
    if (vu === undefined) {
      dropped.add(1, run.tags);
      continue;
    }
    const busy = vu;
    void run.iterate(busy).then(() => idle.push(busy));
  }
  await sleep(origin + totalDurationMs(stages) - performance.now(), run.signal);
  await run.drain(parseDuration(scenario.gracefulStop));
}

async function runConstantVus(run: ScenarioRun, scenario: ScenarioOf<'constant-vus'>): Promise<void> {
  const end = performance.now() + parseDuration(scenario.duration);
  run.setVus(scenario.vus);
  for (let vu = 1; vu <= scenario.vus; vu++) {
    void (async () => {
      while (performance.now() < end && !run.signal.aborted) {
        await run.iterate(vu);
        await yieldToEventLoop();
      }
    })();
  }
  await sleep(end - performance.now(), run.signal);
  await run.drain(parseDuration(scenario.gracefulStop));
}

interface RampedVu {
  /** False once a ramp-down removed it: it finishes its iteration and leaves. */
  running: boolean;
  readonly interrupt: AbortController;
  rampDown?: NodeJS.Timeout;
}

async function runRampingVus(run: ScenarioRun, scenario: ScenarioOf<'ramping-vus'>): Promise<void> {
  const stages = ramps(scenario.stages);
  const gracefulRampDownMs = parseDuration(scenario.gracefulRampDown);
  const origin = performance.now();
  const end = origin + totalDurationMs(stages);
  const vus = new Map<number, RampedVu>();

  const start = (id: number) => {
    const vu: RampedVu = { running: true, interrupt: new AbortController() };
    vus.set(id, vu);
    run.setVus(vus.size);
    void (async () => {
      while (vu.running && performance.now() < end && !run.signal.aborted) {
        await run.iterate(id, vu.interrupt.signal);
        await yieldToEventLoop();
      }
      clearTimeout(vu.rampDown);
      vus.delete(id);
      run.setVus(vus.size);
    })();
  };

  const scaleTo = (target: number) => {
    const running = [...vus].filter(([, vu]) => vu.running);
    // Up: VUs still finishing a ramp-down come back first, then new VUs take the lowest free ids.
    const returning = [...vus.values()].filter((vu) => !vu.running && !vu.interrupt.signal.aborted);
    for (let missing = target - running.length; missing > 0; missing--) {
      const vu = returning.shift();
      if (vu) {
        vu.running = true;
        clearTimeout(vu.rampDown);
      } else {
        let id = 1;
        while (vus.has(id)) id++;
        start(id);
      }
    }
    // Down: the most recent VUs leave after their iteration, or are interrupted after gracefulRampDown.
    for (const [, vu] of running.sort(([a], [b]) => b - a).slice(0, Math.max(0, running.length - target))) {
      vu.running = false;
      vu.rampDown = setTimeout(() => vu.interrupt.abort(), gracefulRampDownMs);
    }
  };

  for (const step of vuSteps(scenario.startVUs, stages)) {
    await sleep(origin + step.atMs - performance.now(), run.signal);
    if (run.signal.aborted) break;
    scaleTo(step.vus);
  }
  await sleep(end - performance.now(), run.signal);
  await run.drain(parseDuration(scenario.gracefulStop));
  for (const vu of vus.values()) clearTimeout(vu.rampDown);
}

/**
 * Runs one scenario to its end: waits for its startTime, then lets its executor call `iteration`.
 * Resolves once the scenario is over; iterations that ignore their signal may still be running.
 */
export async function runScenario(
  name: string,
  scenario: Scenario,
  iteration: Iteration,
  context: RunContext,
): Promise<void> {
  const run = new ScenarioRun(name, scenario, iteration, context);
  try {
    await sleep(parseDuration(scenario.startTime), run.signal);
    if (run.signal.aborted) return;
    switch (scenario.executor) {
      case 'constant-arrival-rate':
        return await runArrivalRate(run, scenario, scenario.rate, [
          { target: scenario.rate, durationMs: parseDuration(scenario.duration) },
        ]);
      case 'ramping-arrival-rate':
        return await runArrivalRate(run, scenario, scenario.startRate, ramps(scenario.stages));
      case 'constant-vus':
        return await runConstantVus(run, scenario);
      case 'ramping-vus':
        return await runRampingVus(run, scenario);
    }
  } finally {
    run.close();
  }
}
