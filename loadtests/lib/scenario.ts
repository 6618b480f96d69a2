/*
 * What a scenario module exports, k6 style: `options` (built from the environment's SLOs and the
 * profile), `setup()` giving the data every iteration receives, the iteration functions its
 * scenarios name in `exec`, and `teardown()`.
 */
import type { Environment } from '../../environments/index.ts';
import type { IterationContext } from './executors.ts';
import type { OptionsInput } from './options.ts';
import type { Registry } from './registry.ts';
import type { Slice } from './slices.ts';
import type { Target } from './stack.ts';

export type Slo = Environment['slo'];

export const PROFILES = ['smoke', 'full'] as const;
export type Profile = (typeof PROFILES)[number];

export interface SetupContext {
  readonly target: Target;
  readonly profile: Profile;
  readonly registry: Registry;
  readonly signal: AbortSignal;
  /** This runner's part of a distributed run: setup connects its share of the agents (`agentShare`). */
  readonly slice: Slice;
  /** Unique to this run and slice: agent names carry it (`agentName`), so slices never share an agent. */
  readonly runId: string;
}

export type IterationFunction<D> = (ctx: IterationContext, data: D) => Promise<void>;

export interface LoadTestModule<D = unknown> {
  options(slo: Slo, profile: Profile): OptionsInput;
  setup(ctx: SetupContext): Promise<D>;
  /** The iteration functions by the name a scenario's `exec` gives. */
  readonly exec: Readonly<Record<string, IterationFunction<D>>>;
  teardown(data: D): Promise<void>;
  /** The trend the progress line shows the p95 of. */
  readonly progressTrend: string;
}
