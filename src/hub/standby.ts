/*
 * A hub whose Postgres is a hot standby (the replica cluster of a standby region) waits instead of
 * exiting: it migrates nothing, reports not ready with the reason, and polls until the server is
 * promoted; then it applies migrations (under the usual advisory lock) and becomes ready by itself, so
 * the geo load balancer's monitors move traffic with no one restarting hubs. The same poll notices a
 * primary demoted under a running hub (a switchover) and turns it not ready again.
 */
import type { Gauge } from 'prom-client';
import type { Database } from './db/database.ts';
import { inRecovery } from './db/recovery.ts';
import type { Logger } from './log.ts';

export const IN_RECOVERY = 'the database is in recovery (a hot standby): not ready until it is promoted';
const UNCHECKED = 'the database has not been checked yet';
const MIGRATING = 'the database accepts writes: applying migrations';

export interface StandbyWatchOptions {
  readonly log: Logger;
  /** `hub_database_in_recovery`. */
  readonly inRecoveryGauge: Gauge;
  readonly pollMs: number;
  /** Runs whenever the database is found to be a primary while the hub is not ready: migrations. */
  readonly prepare: () => Promise<void>;
  /** The WAL heartbeat this hub writes while it serves from a primary (migration 0004 says why). */
  readonly heartbeat: { readonly everyMs: number; readonly replicaId: string };
}

export class StandbyWatch {
  private reason: string | undefined = UNCHECKED;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private lastFailure: string | undefined;
  private onDemoted: (() => Promise<void>) | undefined;
  private lastBeatMs = -Infinity;

  constructor(
    private readonly db: Database,
    private readonly options: StandbyWatchOptions,
  ) {}

  /** Why the hub must not serve, or undefined while the database is a primary with the schema applied. */
  get notReadyReason(): string | undefined {
    return this.reason;
  }

  /**
   * The check at start. A database that does not answer, or migrations that fail on a primary, throw
   * and end the start as before; a standby does not.
   */
  start(): Promise<void> {
    return this.check();
  }

  /**
   * Checks every pollMs from now on; a failed check (the server restarting, say) is logged, never
   * fatal. `onDemoted` runs when the database goes into recovery while the hub is serving.
   */
  watch(onDemoted: () => Promise<void>): void {
    this.onDemoted = onDemoted;
    this.timer = setInterval(() => {
      this.checking ??= this.check()
        .then(() => (this.lastFailure = undefined))
        .catch((error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          // Logged once per distinct failure: a database down for minutes must not flood the log.
          if (message !== this.lastFailure) this.options.log.warn({ err: error }, 'database role check failed');
          this.lastFailure = message;
        })
        .finally(() => (this.checking = undefined));
    }, this.options.pollMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.checking;
  }

  private async check(): Promise<void> {
    const standby = await inRecovery(this.db);
    this.options.inRecoveryGauge.set(standby ? 1 : 0);
    if (standby) return this.enterRecovery();
    if (this.reason !== undefined) await this.becomePrimary();
    if (this.reason === undefined) await this.beat();
  }

  /* Once per interval, tried or not: a heartbeat that fails (schema not migrated yet) is no reason to stop. */
  private async beat(): Promise<void> {
    const { everyMs, replicaId } = this.options.heartbeat;
    if (Date.now() - this.lastBeatMs < everyMs) return;
    this.lastBeatMs = Date.now();
    await this.db
      .query(
        `INSERT INTO wal_heartbeat (id, replica_id, beat_at) VALUES (1, $1, now())
         ON CONFLICT (id) DO UPDATE SET replica_id = EXCLUDED.replica_id, beat_at = EXCLUDED.beat_at`,
        [replicaId],
      )
      .catch((error: unknown) => this.options.log.warn({ err: error }, 'WAL heartbeat not written'));
  }

  private async enterRecovery(): Promise<void> {
    if (this.reason === IN_RECOVERY) return;
    const serving = this.reason === undefined;
    this.reason = IN_RECOVERY;
    const { log } = this.options;
    if (!serving) {
      log.warn({ reason: IN_RECOVERY }, 'database is in recovery: not migrating, waiting for its promotion');
      return;
    }
    log.warn({ reason: IN_RECOVERY }, 'database went into recovery (demoted): not ready, draining sessions');
    await this.onDemoted?.();
  }

  private async becomePrimary(): Promise<void> {
    const promoted = this.reason === IN_RECOVERY;
    if (promoted) this.options.log.info('database promoted: applying migrations, then ready');
    this.reason = MIGRATING;
    try {
      await this.options.prepare();
    } catch (error) {
      this.reason = `migrations failed: ${error instanceof Error ? error.message : String(error)}`;
      throw error;
    }
    this.reason = undefined;
    if (promoted) this.options.log.info('hub ready: its database was promoted');
  }
}
