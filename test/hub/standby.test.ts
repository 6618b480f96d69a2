/*
 * A hub on a hot standby Postgres (a standby region's replica): it stays up, reports not ready with
 * the reason, migrates nothing and refuses agents; once the server is promoted it migrates and serves
 * by itself. A primary demoted under a serving hub turns it not ready and drains its sessions with
 * 1012; promoted again, the agents come back on their own. The standby is the real thing: a cluster
 * started with standby.signal (and nothing to replay from), promoted with pg_promote().
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import WebSocket from 'ws';
import { startPostgres, startRedis, type LocalPostgres, type LocalService } from '../../scripts/lib/local-services.ts';
import { migrate } from '../../src/hub/db/migrate.ts';
import { openPostgres } from '../../src/hub/db/postgres.ts';
import { createLogger } from '../../src/hub/log.ts';
import { migrations } from '../../src/hub/migrations/index.ts';
import { IN_RECOVERY } from '../../src/hub/standby.ts';
import { ADMIN_TOKEN, Admin, closeAllClients, collectDms, connectAgent, eventually } from './helpers/hub-harness.ts';
import { startHubProcess, TSX_HUB, type HubProcess } from './helpers/hub-process.ts';

const POLL_MS = 200;
const HEARTBEAT_MS = 1_000;

async function sql<Row>(url: string, text: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows as Row[];
  } finally {
    await client.end();
  }
}

async function readiness(hub: HubProcess): Promise<{ status: number; body: any }> {
  const response = await fetch(`${hub.httpUrl}/api/ready`);
  return { status: response.status, body: await response.json() };
}

async function inRecoveryGauge(hub: HubProcess): Promise<number> {
  const text = await (await fetch(`${hub.adminUrl}/metrics`)).text();
  const line = /^hub_database_in_recovery\{[^}]*\} (\d+)$/m.exec(text);
  assert.ok(line, 'hub_database_in_recovery is exported');
  return Number(line[1]);
}

/** The HTTP status a WebSocket upgrade gets (101 when it opens). */
function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('error', () => undefined);
  });
}

const messages = (hub: HubProcess, pattern: RegExp) => hub.logs.filter((l) => pattern.test(l.msg));

describe('standby database (server, one process)', () => {
  let postgres: LocalPostgres;
  let redis: LocalService;
  let hub: HubProcess;

  before(async () => {
    [postgres, redis] = await Promise.all([startPostgres({ standby: true }), startRedis()]);
    hub = await startHubProcess(TSX_HUB, {
      DATABASE_URL: postgres.url,
      REDIS_URL: redis.url,
      HUB_ADMIN_TOKEN: ADMIN_TOKEN,
      HUB_STANDBY_POLL_MS: String(POLL_MS),
      HUB_WAL_HEARTBEAT_MS: String(HEARTBEAT_MS),
      HUB_SHUTDOWN_GRACE_MS: '5000',
    });
  });

  after(async () => {
    closeAllClients();
    await hub?.terminate();
    await Promise.all([postgres?.stop(), redis?.stop()]);
  });

  it('stays up on a standby: live, not ready with the reason, no tables, agents and admin refused', async () => {
    // Several polls later the hub still runs and has said so once.
    await new Promise((r) => setTimeout(r, POLL_MS * 5));
    assert.equal(hub.child.exitCode, null);
    const said = messages(hub, /database is in recovery/);
    assert.equal(said.length, 1);
    assert.equal(said[0].reason, IN_RECOVERY);

    assert.equal((await fetch(`${hub.httpUrl}/api/health`)).status, 200);
    const ready = await readiness(hub);
    assert.equal(ready.status, 503);
    assert.deepEqual(ready.body, {
      status: 'not ready',
      checks: { database: 'ok', bus: 'ok', primary: IN_RECOVERY, draining: 'ok' },
    });
    assert.equal(await inRecoveryGauge(hub), 1);
    assert.equal(await upgradeStatus(hub.wsUrl), 503);
    const admin = await new Admin(hub.adminUrl).call('POST', '/api/admin/tenants', { name: 'too-early' });
    assert.deepEqual(admin, { status: 503, body: { error: IN_RECOVERY } });
    const tables = await sql<{ table_name: string }>(
      postgres.url,
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    );
    assert.deepEqual(tables, []);
  });

  it('refuses to migrate a standby, naming the reason', async () => {
    const db = openPostgres(postgres.url, 1, createLogger('silent'));
    try {
      await assert.rejects(migrate(db, migrations), /in recovery \(a hot standby\): migrations run only on a primary/);
    } finally {
      await db.close();
    }
  });

  it('migrates and serves by itself once the standby is promoted', async () => {
    const promotedAt = Date.now();
    await sql(postgres.url, 'SELECT pg_promote()');
    await eventually(async () => assert.equal((await readiness(hub)).status, 200), 10_000);
    assert.ok(Date.now() - promotedAt < POLL_MS * 10, 'ready within a few polls of the promotion');
    assert.equal(await inRecoveryGauge(hub), 0);
    const applied = await sql<{ version: number }>(postgres.url, 'SELECT version FROM schema_migrations ORDER BY 1');
    assert.deepEqual(
      applied.map((r) => r.version),
      migrations.map((m) => m.version).sort((a, b) => a - b),
    );
    assert.equal(messages(hub, /^database promoted/).length, 1);

    const tenant = await new Admin(hub.adminUrl).provision('promoted');
    let got!: ReturnType<typeof collectDms>;
    const receiver = await connectAgent(hub.wsUrl, tenant.key, 'receiver', { onCreate: (c) => (got = collectDms(c)) });
    const sender = await connectAgent(hub.wsUrl, tenant.key, 'sender');
    await sender.sendDm(receiver.identity.agentId, 'after promotion');
    await eventually(() => assert.deepEqual(got.bodies, ['after promotion']));
  });

  it('writes the WAL heartbeat while it serves from the primary, so an idle primary still archives', async () => {
    type Beat = { replica_id: string; beat_at: Date; lsn: string };
    const read = async () =>
      (
        await sql<Beat>(
          postgres.url,
          'SELECT replica_id, beat_at, pg_current_wal_insert_lsn()::text AS lsn FROM wal_heartbeat',
        )
      )[0];
    await eventually(async () => assert.ok(await read()), 5_000);
    const first = (await read())!;
    assert.match(first.replica_id, /\S/);
    // Nothing else writes meanwhile: the next beat alone moves the row and the WAL position. The
    // window is generous: on a loaded machine a poll can come late. The insert position moves with
    // the record; the write position may wait for the WAL writer when commits are asynchronous.
    await eventually(async () => assert.ok((await read())!.beat_at > first.beat_at), HEARTBEAT_MS * 15);
    const next = (await read())!;
    assert.notEqual(next.lsn, first.lsn);
  });

  it('turns not ready and drains sessions with 1012 when its primary is demoted, and recovers when promoted again', async () => {
    const tenant = await new Admin(hub.adminUrl).provision('switchover');
    const closes: number[] = [];
    let got!: ReturnType<typeof collectDms>;
    const receiver = await connectAgent(hub.wsUrl, tenant.key, 'receiver', {
      onCreate: (c) => {
        got = collectDms(c);
        c.on('disconnected', ({ code }) => closes.push(code));
      },
    });
    const sender = await connectAgent(hub.wsUrl, tenant.key, 'sender');

    await postgres.restart({ standby: true });
    await eventually(async () => assert.equal((await readiness(hub)).body.checks.primary, IN_RECOVERY), 10_000);
    await eventually(() => assert.ok(closes.includes(1012), `closed with 1012 (got ${closes.join(', ')})`), 10_000);
    assert.equal(messages(hub, /went into recovery \(demoted\)/).length, 1);
    assert.equal(await inRecoveryGauge(hub), 1);
    assert.equal(await upgradeStatus(hub.wsUrl), 503);
    assert.equal(hub.child.exitCode, null);

    await sql(postgres.url, 'SELECT pg_promote()');
    await eventually(() => assert.ok(receiver.connected && sender.connected), 15_000);
    await sender.sendDm(receiver.identity.agentId, 'after switchback');
    await eventually(() => assert.deepEqual(got.bodies, ['after switchback']));
  });
});
