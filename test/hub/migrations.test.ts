/*
 * Schema migrations: versioned, idempotent, and safe when several replicas start at once; the same
 * migrations run on PGlite.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPostgres, type LocalPostgres } from '../../scripts/lib/local-services.ts';
import { migrate } from '../../src/hub/db/migrate.ts';
import { openPglite } from '../../src/hub/db/pglite.ts';
import { openPostgres } from '../../src/hub/db/postgres.ts';
import { createLogger } from '../../src/hub/log.ts';
import type { Migration } from '../../src/hub/migrations/migration.ts';
import { migrations } from '../../src/hub/migrations/index.ts';

const log = createLogger('silent');
const extra: Migration = {
  version: 999,
  name: 'test_extra',
  sql: 'CREATE TABLE test_extra (id int); CREATE INDEX ON test_extra (id);',
};
const latest = Math.max(...migrations.map((m) => m.version));

describe('migrations', () => {
  let postgres: LocalPostgres;

  before(async () => {
    postgres = await startPostgres();
  });

  after(async () => {
    await postgres?.stop();
  });

  it('applies each version exactly once when eight replicas migrate at the same moment', async () => {
    const url = await postgres.createDatabase('concurrent');
    const pools = Array.from({ length: 8 }, () => openPostgres(url, 2, log));
    const reports = await Promise.all(pools.map((db) => migrate(db, [...migrations, extra])));
    const appliedBy = reports.filter((r) => r.applied.length > 0);
    assert.equal(appliedBy.length, 1);
    assert.deepEqual(appliedBy[0]!.applied, [...migrations.map((m) => m.version), 999]);
    assert.ok(reports.every((r) => r.current === 999));
    const rows = await pools[0]!.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(
      rows.map((r) => Number(r.version)),
      [...migrations.map((m) => m.version), 999],
    );
    await Promise.all(pools.map((db) => db.close()));
  });

  it('rolls a failing migration back completely and applies nothing of it', async () => {
    const url = await postgres.createDatabase('failing');
    const db = openPostgres(url, 2, log);
    const broken: Migration = {
      version: 1000,
      name: 'broken',
      sql: 'CREATE TABLE half (id int); SELECT no_such_function();',
    };
    await assert.rejects(migrate(db, [...migrations, broken]), /no_such_function/);
    const tables = await db.query("SELECT 1 FROM pg_tables WHERE tablename IN ('half', 'schema_migrations', 'agents')");
    assert.equal(tables.length, 0);
    await db.close();
  });

  it('is a no-op the second time, and `npm run hub:migrate` reports the current version', async () => {
    const url = await postgres.createDatabase('command');
    const first = spawnSync('npx', ['tsx', 'src/hub/migrate.ts'], {
      env: { ...process.env, DATABASE_URL: url },
      encoding: 'utf8',
    });
    assert.equal(first.status, 0, first.stderr);
    const second = spawnSync('npx', ['tsx', 'src/hub/migrate.ts'], {
      env: { ...process.env, DATABASE_URL: url },
      encoding: 'utf8',
    });
    assert.equal(second.status, 0, second.stderr);
    const lines = second.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const done = lines.find((l) => l.msg === 'migrations applied');
    assert.deepEqual([done.applied, done.schemaVersion], [[], latest]);
    assert.doesNotMatch(second.stdout, /postgres:\/\/postgres@/); // the URL is logged without credentials
  });

  it('applies the same migrations to PGlite, idempotently', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rf-migrate-pglite-'));
    try {
      const db = await openPglite(dir);
      assert.deepEqual(
        (await migrate(db, migrations)).applied,
        migrations.map((m) => m.version),
      );
      assert.deepEqual((await migrate(db, migrations)).applied, []);
      const tables = await db.query<{ tablename: string }>(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
      );
      assert.deepEqual(
        tables.map((t) => t.tablename),
        [
          'agents',
          'api_keys',
          'fleets',
          'idempotency_keys',
          'memory',
          'messages',
          'schema_migrations',
          'tasks',
          'tenants',
          'wal_heartbeat',
        ],
      );
      await db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
