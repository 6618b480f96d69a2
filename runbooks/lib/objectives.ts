/* The objectives a drill is held to: the environment's `drill` settings, optionally overridden. */
import type { Environment } from '../../environments/index.ts';

export interface Objectives {
  readonly rpoSeconds: number;
  readonly rtoSeconds: number;
  /** Where the numbers came from, for the report. */
  readonly source: string;
}

export interface ObjectiveResult {
  readonly name: 'RPO' | 'RTO';
  readonly objectiveSeconds: number;
  /** Undefined when the drill could not measure it (e.g. it failed before). */
  readonly measuredSeconds?: number;
  readonly met: boolean;
  readonly message: string;
}

export function resolveObjectives(
  env: Environment,
  overrides: { rpoSeconds?: number; rtoSeconds?: number } = {},
): Objectives {
  for (const [name, value] of Object.entries(overrides)) {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw new Error(`--${name.replace('Seconds', '-seconds')} must be a positive number of seconds (got ${value})`);
    }
  }
  const overridden = Object.entries(overrides).filter(([, v]) => v !== undefined);
  return {
    rpoSeconds: overrides.rpoSeconds ?? env.drill.rpoSeconds,
    rtoSeconds: overrides.rtoSeconds ?? env.drill.rtoSeconds,
    source:
      overridden.length === 0
        ? `environments/${env.name}.ts drill`
        : `environments/${env.name}.ts drill, overridden on the command line (${overridden.map(([k]) => k).join(', ')})`,
  };
}

export function checkObjective(
  name: 'RPO' | 'RTO',
  objectiveSeconds: number,
  measuredSeconds?: number,
): ObjectiveResult {
  if (measuredSeconds === undefined) {
    return { name, objectiveSeconds, met: false, message: `${name} objective not measured: the drill failed before` };
  }
  const met = measuredSeconds <= objectiveSeconds;
  const measured = measuredSeconds.toFixed(1);
  return {
    name,
    objectiveSeconds,
    measuredSeconds,
    met,
    message: met
      ? `${name} ${measured} s is within the objective of ${objectiveSeconds} s`
      : `${name} objective missed: measured ${measured} s, objective ${objectiveSeconds} s`,
  };
}

/** A drill's verdict: the failures found along the way, then every objective it missed. */
export function verdict(
  failures: readonly string[],
  results: readonly ObjectiveResult[],
): { passed: boolean; failures: string[] } {
  const all = [...failures, ...results.filter((r) => !r.met).map((r) => r.message)];
  return { passed: all.length === 0, failures: all };
}
