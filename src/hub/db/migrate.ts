import type { Migration } from '../migrations/migration.ts';
import type { Database } from './database.ts';
import { inRecovery } from './recovery.ts';

/* Any constant works as long as every replica uses the same one: this is 'rfhubmig' in ASCII. */
const MIGRATION_LOCK_KEY = BigInt('0x72666875626d6967').toString();

const STANDBY_REFUSED = 'the database is in recovery (a hot standby): migrations run only on a primary';

export interface MigrationReport {
  readonly applied: readonly number[];
  readonly current: number;
}

/*
 * All pending migrations run in one transaction holding a transaction-scoped advisory lock, so
 * replicas starting together queue on the lock and the later ones find nothing left to do. The
 * bookkeeping table is created under the same lock: two concurrent CREATE TABLE IF NOT EXISTS race.
 * A standby is refused up front with a message that says so, rather than Postgres' "read-only transaction".
 */
export async function migrate(db: Database, available: readonly Migration[]): Promise<MigrationReport> {
  const ordered = [...available].sort((a, b) => a.version - b.version);
  ordered.forEach((m, i) => {
    if (i > 0 && ordered[i - 1]!.version === m.version) throw new Error(`migration version ${m.version} is used twice`);
  });
  return db.transaction(async (tx) => {
    if (await inRecovery(tx)) throw new Error(STANDBY_REFUSED);
    await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = new Set(
      (await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => Number(r.version)),
    );
    const applied: number[] = [];
    for (const migration of ordered) {
      if (done.has(migration.version)) continue;
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    return { applied, current: Math.max(0, ...done, ...applied) };
  });
}
