export interface BackoffOptions {
  /** Delay ceiling of the first retry. @default 100 */
  readonly initialMs?: number;
  /** Ceiling of any delay. @default 10000 */
  readonly maxMs?: number;
}

/**
 * "Full jitter" exponential backoff: a random delay between 0 and min(max, initial * 2^attempt), so
 * a fleet of agents dropped at the same moment does not reconnect in lockstep.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = options.initialMs ?? 100;
  const max = options.maxMs ?? 10_000;
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
