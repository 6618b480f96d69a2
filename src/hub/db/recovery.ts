import type { Queryable } from './database.ts';

/** True while the server is a standby replaying WAL (read-only); PGlite answers false. */
export async function inRecovery(db: Queryable): Promise<boolean> {
  const [row] = await db.query<{ in_recovery: boolean }>('SELECT pg_is_in_recovery() AS in_recovery');
  return row?.in_recovery === true;
}
