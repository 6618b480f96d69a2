import pg from 'pg';
import type { Logger } from '../log.ts';
import { withTimeout, type Database, type Queryable } from './database.ts';

function queryable(target: pg.Pool | pg.PoolClient): Queryable {
  return {
    query: async <Row extends object>(sql: string, params: readonly unknown[] = []) =>
      (await target.query<Row>(sql, params as unknown[])).rows,
    // Without parameters pg uses the simple query protocol, which accepts several statements.
    exec: async (sql: string) => {
      await target.query(sql);
    },
  };
}

export function openPostgres(url: string, poolSize: number, log: Logger): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    application_name: 'ringforge-hub',
  });
  // An idle client losing its connection (failover, restart) must not take the process down.
  pool.on('error', (error) => log.warn({ err: error.message }, 'idle Postgres connection failed'));

  return {
    kind: 'postgres',
    ...queryable(pool),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await fn(queryable(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => (broken = true));
        throw error;
      } finally {
        client.release(broken);
      }
    },
    async ping(timeoutMs: number): Promise<void> {
      await withTimeout(pool.query('SELECT 1'), timeoutMs, 'Postgres');
    },
    poolStats: () => ({ max: poolSize, total: pool.totalCount, waiting: pool.waitingCount }),
    close: () => pool.end(),
  };
}
