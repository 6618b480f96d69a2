/*
 * When the executors act, as pure functions of their parameters: the start offsets of an arrival
 * rate and the steps of a VU ramp. Kept apart from the timers so the arithmetic can be tested exactly.
 */

export interface Ramp {
  /** The rate or VU count this stage reaches at its end. */
  readonly target: number;
  readonly durationMs: number;
}

/**
 * The offsets (ms from the start) at which iterations start when the rate, in iterations per
 * `timeUnitMs`, ramps linearly from `startRate` through each stage's target. Iteration k starts
 * when the integral of the rate reaches k, so a constant 50/s over 1s starts 50 iterations,
 * at 0, 20, ..., 980 ms.
 */
export function* arrivalOffsets(startRate: number, stages: readonly Ramp[], timeUnitMs: number): Generator<number> {
  let k = 0;
  let stageStartMs = 0;
  let arrivedBefore = 0;
  let fromRate = startRate / timeUnitMs;
  for (const { target, durationMs } of stages) {
    const toRate = target / timeUnitMs;
    const arrivedAfter = arrivedBefore + ((fromRate + toRate) / 2) * durationMs;
    // The tolerance keeps float error from adding an iteration exactly at the stage's end.
    for (; k < arrivedAfter - 1e-9; k++) {
      const n = Math.max(0, k - arrivedBefore);
      // Solves fromRate·t + (toRate − fromRate)·t²/(2·durationMs) = n for t, in the form that stays
      // stable when the rate is constant (where it reduces to n / fromRate).
      const slope = (toRate - fromRate) / durationMs;
      yield n === 0 ? stageStartMs : stageStartMs + (2 * n) / (fromRate + Math.sqrt(fromRate ** 2 + 2 * slope * n));
    }
    stageStartMs += durationMs;
    arrivedBefore = arrivedAfter;
    fromRate = toRate;
  }
}

export interface VuStep {
  readonly atMs: number;
  readonly vus: number;
}

/**
 * The VU count over time for a ramp from `startVUs` through each stage's target, one VU at a time
 * and evenly spread over the stage as k6 does: 0 → 10 VUs over 10s adds one VU each second.
 */
export function vuSteps(startVUs: number, stages: readonly Ramp[]): VuStep[] {
  const steps: VuStep[] = [{ atMs: 0, vus: startVUs }];
  let [stageStartMs, from] = [0, startVUs];
  for (const { target, durationMs } of stages) {
    const change = Math.abs(target - from);
    for (let i = 1; i <= change; i++) {
      steps.push({ atMs: stageStartMs + (durationMs * i) / change, vus: from + Math.sign(target - from) * i });
    }
    stageStartMs += durationMs;
    from = target;
  }
  return steps;
}

export function totalDurationMs(stages: readonly Ramp[]): number {
  return stages.reduce((sum, stage) => sum + stage.durationMs, 0);
}
