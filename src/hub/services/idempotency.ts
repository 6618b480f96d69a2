import type { Database, Queryable } from '../db/database.ts';
import { HubError } from '../protocol/errors.ts';

export interface Outcome<T> {
  readonly result: T;
  /** True when the idempotency key had been used: the stored result is returned, nothing is redone. */
  readonly replayed: boolean;
}

/** A key that was used for another request type, or whose first request has not succeeded. */
export function keyReused(usedFor: string | undefined, operation: string): HubError {
  return new HubError(
    'idempotency_key_reused',
    `idempotencyKey was already used for ${usedFor ?? 'another request'}; use a new key for ${operation}`,
  );
}

/*
 * The key is claimed in the same transaction as the mutation: a concurrent duplicate blocks on the
 * primary key until the first commits, then finds the stored response. A failed mutation rolls the
 * claim back, so the key can be retried.
 */
export async function mutate<T>(
  db: Database,
  agentId: string,
  idempotencyKey: string | undefined,
  operation: string,
  fn: (tx: Queryable) => Promise<T>,
): Promise<Outcome<T>> {
  if (idempotencyKey === undefined) return { result: await db.transaction(fn), replayed: false };
  return db.transaction(async (tx) => {
    const claimed = await tx.query(
      `INSERT INTO idempotency_keys (agent_id, key, operation) VALUES ($1, $2, $3)
       ON CONFLICT (agent_id, key) DO NOTHING RETURNING key`,
      [agentId, idempotencyKey, operation],
    );
    if (claimed.length === 0) {
      const [stored] = await tx.query<{ operation: string; response: string | null }>(
        'SELECT operation, response FROM idempotency_keys WHERE agent_id = $1 AND key = $2',
        [agentId, idempotencyKey],
      );
      if (stored === undefined || stored.operation !== operation || stored.response === null) {
        throw keyReused(stored?.operation, operation);
      }
      return { result: JSON.parse(stored.response) as T, replayed: true };
    }
    const result = await fn(tx);
    await tx.query('UPDATE idempotency_keys SET response = $3 WHERE agent_id = $1 AND key = $2', [
      agentId,
      idempotencyKey,
      JSON.stringify(result ?? null),
    ]);
    return { result, replayed: false };
  });
}

/** Keys older than the retention are forgotten; a retry after that long is a new request. */
export async function pruneIdempotencyKeys(db: Database, retentionMs: number): Promise<void> {
  await db.query(`DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)`, [
    retentionMs / 1000,
  ]);
}
