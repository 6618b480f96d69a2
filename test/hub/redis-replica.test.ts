/*
 * A hub whose Redis turned into a replica under it (a demoted primary that Sentinel reconfigured
 * after the hub connected) must not stay there: a replica accepts PUBLISH, but its messages never
 * reach the primary's subscribers, so every notification would be dropped without an error. The hub
 * reports not ready with the reason and serves again once its Redis is a primary. Two real
 * redis-servers on loopback; REPLICAOF demotes and promotes one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startPostgres, startRedis, type LocalPostgres, type LocalService } from '../../scripts/lib/local-services.ts';
import { ADMIN_TOKEN, eventually } from './helpers/hub-harness.ts';
import { startHubProcess, TSX_HUB, type HubProcess } from './helpers/hub-process.ts';

async function readiness(hub: HubProcess): Promise<{ status: number; body: any }> {
  const response = await fetch(`${hub.httpUrl}/api/ready`);
  return { status: response.status, body: await response.json() };
}

describe('Redis demoted under a running hub (server, one process)', () => {
  let postgres: LocalPostgres;
  let own: LocalService;
  let other: LocalService;
  let hub: HubProcess;

  before(async () => {
    [postgres, own, other] = await Promise.all([startPostgres(), startRedis(), startRedis()]);
    hub = await startHubProcess(TSX_HUB, {
      DATABASE_URL: postgres.url,
      REDIS_URL: own.url,
      HUB_ADMIN_TOKEN: ADMIN_TOKEN,
      HUB_SHUTDOWN_GRACE_MS: '5000',
    });
  });

  after(async () => {
    await hub?.terminate();
    await Promise.all([postgres?.stop(), own?.stop(), other?.stop()]);
  });

  it('turns not ready while its Redis is a replica, naming it, and ready again once it is a primary', async () => {
    await eventually(async () => assert.equal((await readiness(hub)).status, 200), 15_000);
    const admin = new Redis(own.url);
    try {
      const { port } = new URL(other.url);
      await admin.call('REPLICAOF', '127.0.0.1', port);
      await eventually(async () => {
        const ready = await readiness(hub);
        assert.equal(ready.status, 503);
        assert.match(ready.body.checks.bus, /reached a slave, not the primary/);
      }, 15_000);
      await admin.call('REPLICAOF', 'NO', 'ONE');
      await eventually(async () => assert.equal((await readiness(hub)).status, 200), 15_000);
    } finally {
      admin.disconnect();
    }
  });
});
