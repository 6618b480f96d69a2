import { mkdirSync } from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { withTimeout, type Database, type Queryable } from './database.ts';

function queryable(target: PGlite | Transaction): Queryable {
  return {
    query: async <Row extends object>(sql: string, params: readonly unknown[] = []) =>
      (await target.query<Row>(sql, params as unknown[])).rows,
    exec: async (sql: string) => {
      await target.exec(sql);
    },
  };
}

/** Embedded Postgres in this process; PGlite serializes queries itself, so it needs no pool. */
export async function openPglite(dataDir: string): Promise<Database> {
  mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  return {
    kind: 'pglite',
    ...queryable(db),
    transaction: (fn) => db.transaction((tx) => fn(queryable(tx))),
    async ping(timeoutMs: number): Promise<void> {
      await withTimeout(db.query('SELECT 1'), timeoutMs, 'PGlite');
    },
    close: () => db.close(),
  };
}
