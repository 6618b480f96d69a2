import type { Bus } from '../bus/bus.ts';
import type { HubConfig } from '../config.ts';
import type { Database } from '../db/database.ts';
import type { Logger } from '../log.ts';
import type { HubMetrics } from '../metrics.ts';
import type { Presence } from '../presence/presence.ts';
import type { RateLimiter } from '../rate-limit.ts';
import type { Accounts } from './accounts.ts';
import type { Memory } from './memory.ts';
import type { Messages } from './messages.ts';
import type { Tasks } from './tasks.ts';

/** Everything a request handler may use, created once per hub. */
export interface Services {
  readonly config: HubConfig;
  readonly log: Logger;
  readonly metrics: HubMetrics;
  readonly db: Database;
  readonly bus: Bus;
  readonly presence: Presence;
  readonly accounts: Accounts;
  readonly messages: Messages;
  readonly memory: Memory;
  readonly tasks: Tasks;
  readonly rateLimiter: RateLimiter;
}
