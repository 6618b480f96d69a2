/*
 * Distributed runs: N runner processes (pods of an Indexed Job, or local processes) each take one
 * slice of a scenario's work. Rates and VU counts are divided so that the slices add up to exactly
 * the whole (remainders go to the lowest indexes); agent names carry the slice index, so no two
 * slices ever connect the same agent (a second session of one name replaces the first).
 */
import type { Options, Scenario } from './options.ts';

export interface Slice {
  /** From 0. */
  readonly index: number;
  readonly count: number;
}

export const WHOLE_RUN: Slice = { index: 0, count: 1 };

const SLICE = /^(\d+)\/(\d+)$/;

/** `<index>/<count>`, index from 0. */
export function parseSlice(text: string): Slice {
  const match = SLICE.exec(text.trim());
  if (!match) throw new Error(`--slice must be <index>/<count>, e.g. 0/4 (got "${text}")`);
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (count < 1) throw new Error(`--slice ${text}: the count must be >= 1`);
  if (index >= count) throw new Error(`--slice ${text}: the index must be < the count (indexes start at 0)`);
  return { index, count };
}

/** Environment variables that give a pod its slice: Kubernetes sets the first in an Indexed Job. */
export const SLICE_ENV = { index: 'JOB_COMPLETION_INDEX', count: 'LOADTEST_PARALLELISM' } as const;

/** The slice a pod's environment gives it, or undefined when neither variable is set. */
export function sliceFromEnv(env: NodeJS.ProcessEnv): Slice | undefined {
  const index = env[SLICE_ENV.index];
  const count = env[SLICE_ENV.count];
  if (index === undefined && count === undefined) return undefined;
  if (index === undefined || count === undefined) {
    throw new Error(`set both ${SLICE_ENV.index} and ${SLICE_ENV.count}, or neither (or pass --slice)`);
  }
  return parseSlice(`${index}/${count}`);
}

/** This slice's part of `total`: equal parts, the remainder one each to the lowest indexes. */
export function shareOf(total: number, slice: Slice): number {
  return Math.floor(total / slice.count) + (slice.index < total % slice.count ? 1 : 0);
}

/** This slice's part of a scenario's agents; a slice without any would have nothing to run. */
export function agentShare(total: number, slice: Slice, what: string): number {
  const share = shareOf(total, slice);
  if (share === 0) {
    throw new Error(
      `slice ${slice.index}/${slice.count} gets none of the ${total} ${what}: run at most ${total} slices`,
    );
  }
  return share;
}

/**
 * This slice's part of one scenario, or undefined when the slice gets none of its iterations or
 * VUs. An arrival-rate scenario keeps at least one VU for the iterations it does get.
 */
export function sliceScenario(scenario: Scenario, slice: Slice): Scenario | undefined {
  const share = (n: number) => shareOf(n, slice);
  const stages = (list: readonly { target: number; duration: string }[]) =>
    list.map((stage) => ({ ...stage, target: share(stage.target) }));
  const pool = (s: { preAllocatedVUs: number; maxVUs: number }) => {
    const preAllocatedVUs = share(s.preAllocatedVUs);
    return { preAllocatedVUs, maxVUs: Math.max(1, preAllocatedVUs, share(s.maxVUs)) };
  };
  switch (scenario.executor) {
    case 'constant-arrival-rate': {
      const rate = share(scenario.rate);
      return rate === 0 ? undefined : { ...scenario, ...pool(scenario), rate };
    }
    case 'ramping-arrival-rate': {
      const sliced = {
        ...scenario,
        ...pool(scenario),
        startRate: share(scenario.startRate),
        stages: stages(scenario.stages),
      };
      return sliced.startRate === 0 && sliced.stages.every((s) => s.target === 0) ? undefined : sliced;
    }
    case 'constant-vus': {
      const vus = share(scenario.vus);
      return vus === 0 ? undefined : { ...scenario, vus };
    }
    case 'ramping-vus': {
      const sliced = { ...scenario, startVUs: share(scenario.startVUs), stages: stages(scenario.stages) };
      return sliced.startVUs === 0 && sliced.stages.every((s) => s.target === 0) ? undefined : sliced;
    }
  }
}

/** The options of one slice: every scenario sliced, those the slice gets nothing of left out. */
export function sliceOptions(options: Options, slice: Slice): Options {
  if (slice.count === 1) return options;
  const scenarios = Object.entries(options.scenarios).flatMap(([name, scenario]) => {
    const sliced = sliceScenario(scenario, slice);
    return sliced ? [[name, sliced] as const] : [];
  });
  if (scenarios.length === 0) {
    throw new Error(`slice ${slice.index}/${slice.count} gets no work from any scenario: run fewer slices`);
  }
  return { ...options, scenarios: Object.fromEntries(scenarios) };
}

/**
 * The id a slice puts in its agents' names: the run's base (base36, no dashes) and the slice
 * index, so names of different slices differ wherever the rest of the name is the same.
 */
export function sliceRunId(base: Date, slice: Slice): string {
  return `${base.getTime().toString(36)}-${slice.index}`;
}

/** `<prefix>-<runId>-<part>-...`: an agent's name, unique to its slice through the run id. */
export const agentName = (prefix: string, runId: string, ...parts: readonly (string | number)[]): string =>
  [prefix, runId, ...parts].join('-');

/** `count` agent names of one kind, numbered from 0. */
export const agentNames = (prefix: string, runId: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => agentName(prefix, runId, i));
