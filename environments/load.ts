import type { z } from 'zod';
import { LOADTEST_DEFAULTS, SERVER_DEFAULTS, TIER_DEFAULTS } from './defaults.ts';
import { environmentSchema, type Environment, type Tier } from './schema.ts';

type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** What an environment file states: its identity plus whatever differs from its tier's defaults. */
export type EnvironmentFile = { name: string; tier: Tier; platform: Environment['platform'] } & DeepPartial<
  Omit<Environment, 'name' | 'tier' | 'platform'>
> &
  Record<string, unknown>;

export class EnvironmentError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`environment ${source} is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'EnvironmentError';
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Objects merge key by key; arrays and scalars from `over` replace those in `base`. */
function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) out[key] = deepMerge(base[key], value);
  return out;
}

function describe(issue: z.core.$ZodIssue): string {
  const path = issue.path.length ? issue.path.join('.') : '(root)';
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${path}: is required (${issue.expected})`;
  // Echo what was received when it is short enough to read; objects would drown the message.
  const input = 'input' in issue ? issue.input : undefined;
  const got =
    input !== undefined && (input === null || typeof input !== 'object') ? ` (got ${JSON.stringify(input)})` : '';
  return `${path}: ${issue.message}${issue.message.includes('(got ') ? '' : got}`;
}

/**
 * Applies the tier defaults under an environment file and validates the result. `source` names
 * the file in errors, so an operator sees which file and which field broke which rule.
 */
export function resolveEnvironment(source: string, file: unknown): Environment {
  const { tier, platform } = isPlainObject(file) ? file : {};
  const known = typeof tier === 'number' && tier in TIER_DEFAULTS;
  const defaults = known ? { ...TIER_DEFAULTS[tier as Tier] } : {};
  if (known && platform === 'hetzner') {
    Object.assign(defaults, { servers: SERVER_DEFAULTS[tier as Tier], loadtest: LOADTEST_DEFAULTS });
  }
  const merged = deepMerge(defaults, file);
  const result = environmentSchema.safeParse(merged, { reportInput: true });
  if (!result.success) throw new EnvironmentError(source, result.error.issues.map(describe));
  return result.data;
}
