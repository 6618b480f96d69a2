/*
 * A load test's `export const options`, in k6's shape: named scenarios, each with its executor and
 * that executor's parameters, and thresholds. Validated once, up front, with errors that name the
 * field path and the rule, and with k6's defaults filled in.
 */
import { z } from 'zod';
import { DURATION_RULE, isDuration, parseDuration } from './durations.ts';
import { parseThresholdExpression, parseThresholdKey, type Threshold } from './thresholds.ts';
import { describeIssue } from './validation.ts';

const duration = z.string().refine(isDuration, { error: DURATION_RULE, abort: true });
const positiveDuration = duration.refine((text) => parseDuration(text) > 0, 'must be longer than 0s');
const count = z.number().int().nonnegative();

/** What every executor accepts besides its own parameters. */
const common = {
  /** The exported function each iteration calls. */
  exec: z
    .string()
    .regex(/^[A-Za-z_$][\w$]*$/, 'must name an exported function')
    .default('default'),
  /** Added to every sample the scenario records, beside `scenario: <name>`. */
  tags: z.record(z.string(), z.string()).default({}),
  /** When the scenario starts, counted from the start of the run. */
  startTime: duration.default('0s'),
  /** How long iterations still running at the end may take to finish before they are interrupted. */
  gracefulStop: duration.default('30s'),
};

const stages = z.array(z.strictObject({ target: count, duration })).min(1, 'must list at least one stage');

/** Arrival-rate executors start iterations on VUs from a pool: preAllocatedVUs, growing to maxVUs. */
const vuPool = { preAllocatedVUs: count, maxVUs: count.optional() };

function checkVuPool(scenario: { preAllocatedVUs: number; maxVUs?: number | undefined }, ctx: z.RefinementCtx): void {
  const { preAllocatedVUs, maxVUs = preAllocatedVUs } = scenario;
  if (maxVUs < preAllocatedVUs) {
    ctx.addIssue({
      code: 'custom',
      path: ['maxVUs'],
      message: `must be >= preAllocatedVUs (${preAllocatedVUs})`,
      input: maxVUs,
    });
  } else if (maxVUs === 0) {
    ctx.addIssue({ code: 'custom', path: ['maxVUs'], message: 'must be > 0 (or preAllocatedVUs must be)' });
  }
}

/** A ramp that never leaves zero would run nothing, which is a mistake rather than a test. */
function rampsAboveZero(start: number, ramp: readonly { target: number }[]): boolean {
  return start > 0 || ramp.some((stage) => stage.target > 0);
}

const constantArrivalRate = z
  .strictObject({
    executor: z.literal('constant-arrival-rate'),
    ...common,
    ...vuPool,
    /** Iterations started per timeUnit. */
    rate: z.number().int().positive(),
    timeUnit: positiveDuration.default('1s'),
    duration: positiveDuration,
  })
  .superRefine(checkVuPool)
  .transform((s) => ({ ...s, maxVUs: s.maxVUs ?? s.preAllocatedVUs }));

const rampingArrivalRate = z
  .strictObject({
    executor: z.literal('ramping-arrival-rate'),
    ...common,
    ...vuPool,
    startRate: count.default(0),
    timeUnit: positiveDuration.default('1s'),
    /** Each stage ramps the rate linearly to its target over its duration. */
    stages,
  })
  .superRefine(checkVuPool)
  .superRefine((s, ctx) => {
    if (!rampsAboveZero(s.startRate, s.stages)) {
      ctx.addIssue({ code: 'custom', path: ['stages'], message: 'startRate or a stage target must be > 0' });
    }
  })
  .transform((s) => ({ ...s, maxVUs: s.maxVUs ?? s.preAllocatedVUs }));

const constantVus = z.strictObject({
  executor: z.literal('constant-vus'),
  ...common,
  vus: z.number().int().positive().default(1),
  duration: positiveDuration,
});

const rampingVus = z
  .strictObject({
    executor: z.literal('ramping-vus'),
    ...common,
    startVUs: count.default(1),
    /** Each stage moves the number of VUs to its target over its duration, one VU at a time. */
    stages,
    /** How long a VU removed by a ramp-down may take to finish its iteration. */
    gracefulRampDown: duration.default('30s'),
  })
  .superRefine((s, ctx) => {
    if (!rampsAboveZero(s.startVUs, s.stages)) {
      ctx.addIssue({ code: 'custom', path: ['stages'], message: 'startVUs or a stage target must be > 0' });
    }
  });

const EXECUTORS = ['constant-arrival-rate', 'ramping-arrival-rate', 'constant-vus', 'ramping-vus'];

const scenario = z.discriminatedUnion('executor', [constantArrivalRate, rampingArrivalRate, constantVus, rampingVus], {
  error: (issue) => {
    const executor = (issue.input as { executor?: unknown } | undefined)?.executor;
    const rule = `one of ${EXECUTORS.join(', ')}`;
    return executor === undefined ? `is required (${rule})` : `must be ${rule} (got ${JSON.stringify(executor)})`;
  },
});

// A bare string is shorthand for { threshold }; normalizing first lets errors point at the field.
const thresholdEntry = z.preprocess(
  (entry) => (typeof entry === 'string' ? { threshold: entry } : entry),
  z.strictObject({
    threshold: z.string(),
    abortOnFail: z.boolean().default(false),
    delayAbortEval: duration.default('0s'),
  }),
);

const thresholds = z.record(z.string(), z.array(thresholdEntry)).transform((input, ctx) => {
  const parsed: Threshold[] = [];
  for (const [key, entries] of Object.entries(input)) {
    let target;
    try {
      target = parseThresholdKey(key);
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: [key], message: (error as Error).message });
      continue;
    }
    entries.forEach(({ threshold: expression, abortOnFail, delayAbortEval }, index) => {
      try {
        const rule = parseThresholdExpression(expression);
        const delayAbortEvalMs = parseDuration(delayAbortEval);
        parsed.push({ key, index, expression, ...target, ...rule, abortOnFail, delayAbortEvalMs });
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: [key, index], message: (error as Error).message });
      }
    });
  }
  return parsed;
});

const optionsSchema = z.strictObject({
  scenarios: z.record(z.string(), scenario).superRefine((scenarios, ctx) => {
    const names = Object.keys(scenarios);
    if (names.length === 0) ctx.addIssue({ code: 'custom', message: 'must declare at least one scenario' });
    for (const name of names.filter((n) => !/^[\w-]+$/.test(n))) {
      ctx.addIssue({ code: 'custom', path: [name], message: 'a scenario name may hold only letters, digits, _ and -' });
    }
  }),
  thresholds: thresholds.default([]),
});

/** Options as a load test writes them. */
export type OptionsInput = z.input<typeof optionsSchema>;
/** Options validated, with every default filled in and thresholds parsed. */
export type Options = z.output<typeof optionsSchema>;
export type Scenario = Options['scenarios'][string];
export type ScenarioOf<E extends Scenario['executor']> = Extract<Scenario, { executor: E }>;

export class OptionsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`options are invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'OptionsError';
  }
}

export function parseOptions(input: unknown): Options {
  const result = optionsSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw new OptionsError(result.error.issues.map(describeIssue));
  return result.data;
}
