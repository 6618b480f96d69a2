/*
 * A failover to an asynchronous replica (or a point-in-time restore) loses the newest direct
 * messages of an agent whose client has already processed them. New messages must not reuse those
 * seqs, or the client drops them as duplicates: lost without an error. The database here is the real
 * thing: a base backup taken before the last two messages, recovered to its end, which leaves it on
 * a new WAL timeline, as a promoted replica or a restore would be.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import {
  asPostgresUser,
  chownToPostgres,
  freePort,
  postgresBinDir,
  startPostgres,
  startRedis,
  startRestoredPostgres,
  type LocalPostgres,
  type LocalService,
} from '../../scripts/lib/local-services.ts';
import type { HubClient } from '../../src/hub/client/client.ts';
import { TIMELINE_SEQ_JUMP } from '../../src/hub/services/messages.ts';
import { ADMIN_TOKEN, Admin, closeAllClients, collectDms, connectAgent, eventually } from './helpers/hub-harness.ts';
import { startHubProcess, TSX_HUB, type HubProcess } from './helpers/hub-process.ts';

async function timeline(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ t: number }>('SELECT ringforge_wal_timeline() AS t')).rows[0]!.t;
  } finally {
    await client.end();
  }
}

function baseBackup(postgres: LocalPostgres): string {
  const root = mkdtempSync(join(tmpdir(), 'rf-basebackup-'));
  chownToPostgres(root);
  const dataDir = join(root, 'data');
  const [bin, ...args] = asPostgresUser([
    join(postgresBinDir(), 'pg_basebackup'),
    ...['-h', '127.0.0.1', '-p', String(postgres.port), '-U', 'postgres', '-D', dataDir],
    ...['-X', 'stream', '--checkpoint=fast', '--no-sync'],
  ]);
  const result = spawnSync(bin!, args, { encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, `pg_basebackup failed: ${result.stderr}`);
  return dataDir;
}

describe('direct messages across a failover that lost the newest ones', () => {
  let redis: LocalService;
  let primary: LocalPostgres;
  let promoted: LocalPostgres | undefined;
  const hubs: HubProcess[] = [];

  before(async () => {
    [primary, redis] = await Promise.all([startPostgres({ keepData: true }), startRedis()]);
  });

  after(async () => {
    closeAllClients();
    await Promise.all(hubs.map((h) => h.terminate()));
    await Promise.all([primary?.destroy(), promoted?.destroy(), redis?.stop()]);
  });

  const startHub = async (postgres: LocalPostgres, port: number) => {
    const hub = await startHubProcess(TSX_HUB, {
      DATABASE_URL: postgres.url,
      REDIS_URL: redis.url,
      HUB_ADMIN_TOKEN: ADMIN_TOKEN,
      HUB_PORT: String(port),
    });
    hubs.push(hub);
    return hub;
  };

  it('numbers on past every seq the client processed, and the client takes the new messages', async () => {
    const [port1, port2] = [await freePort(), await freePort()];
    const urls = [`ws://127.0.0.1:${port1}/ws`, `ws://127.0.0.1:${port2}/ws`];
    const hub1 = await startHub(primary, port1);
    const tenant = await new Admin(hub1.adminUrl).provision('timeline');
    let got!: ReturnType<typeof collectDms>;
    const receiver: HubClient = await connectAgent(urls, tenant.key, 'receiver', {
      onCreate: (c) => (got = collectDms(c)),
    });
    const sender = await connectAgent(urls, tenant.key, 'sender');
    const to = receiver.identity.agentId;

    for (const body of ['a', 'b', 'c']) await sender.sendDm(to, body);
    await eventually(() => assert.deepEqual(got.seqs, [1, 2, 3]));
    const backup = baseBackup(primary);
    // Acknowledged and processed, but only on the primary that is about to be lost.
    for (const body of ['d', 'e']) await sender.sendDm(to, body);
    await eventually(() => assert.deepEqual(got.seqs, [1, 2, 3, 4, 5]));
    const lostTimeline = await timeline(primary.url);

    await hub1.terminate();
    await primary.destroy();
    // Recovery runs to the end of the backup's WAL (the archive answers nothing) and opens the
    // database on a new timeline: a promoted replica that had not received the last two messages.
    promoted = await startRestoredPostgres(backup, { settings: { restore_command: '/bin/false' } });
    // It takes connections while it still replays; the new timeline begins when recovery ends.
    await eventually(async () => assert.equal(await timeline(promoted!.url), lostTimeline + 1), 30_000);
    await startHub(promoted, port2);
    await eventually(() => assert.ok(receiver.connected && sender.connected), 30_000);

    const first = await sender.sendDm(to, 'after failover');
    assert.equal(first.seq, 3 + TIMELINE_SEQ_JUMP + 1, 'the first seq on the new timeline jumps');
    const second = await sender.sendDm(to, 'and after');
    assert.equal(second.seq, first.seq + 1, 'one jump per timeline');
    await eventually(() => assert.deepEqual(got.bodies, ['a', 'b', 'c', 'd', 'e', 'after failover', 'and after']));
    assert.deepEqual(got.seqs, [1, 2, 3, 4, 5, first.seq, second.seq]);
  });
});
