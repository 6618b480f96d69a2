/*
 * A hub reaching Redis through Sentinel must not stay on a server that turned into a replica under
 * it (a demoted primary that came back before Sentinel reconfigured it): a replica accepts PUBLISH,
 * but its messages never reach the primary's subscribers, so every notification would be dropped
 * without an error. The hub reports not ready with the reason and serves again once it reaches a
 * primary. Real redis-servers and sentinels on loopback; REPLICAOF swaps the roles behind the
 * sentinels' back, so no +switch-master notice moves the hub.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import {
  startPostgres,
  startRedisSentinelGroup,
  type LocalPostgres,
  type RedisSentinelGroup,
} from '../../scripts/lib/local-services.ts';
import { eventually } from './helpers/hub-harness.ts';
import { startHubProcess, TSX_HUB, type HubProcess } from './helpers/hub-process.ts';
import { sentinelHubEnv } from './helpers/sentinel-hub.ts';

async function readiness(hub: HubProcess): Promise<{ status: number; body: any }> {
  const response = await fetch(`${hub.httpUrl}/api/ready`);
  return { status: response.status, body: await response.json() };
}

describe('Redis demoted under a running hub (Sentinel, one process)', () => {
  let postgres: LocalPostgres;
  let group: RedisSentinelGroup;
  let hub: HubProcess;

  before(async () => {
    [postgres, group] = await Promise.all([startPostgres(), startRedisSentinelGroup()]);
    hub = await startHubProcess(TSX_HUB, sentinelHubEnv(postgres, group));
  });

  after(async () => {
    await hub?.terminate();
    await Promise.all([postgres?.stop(), group?.stop()]);
  });

  it('turns not ready while its connection sits on a replica, naming it, and ready again on a primary', async () => {
    await eventually(async () => assert.equal((await readiness(hub)).status, 200), 15_000);
    const [first, second] = group.nodes.map(
      (node) => new Redis({ port: node.port, host: '127.0.0.1', password: group.password }),
    );
    try {
      await second!.call('REPLICAOF', 'NO', 'ONE');
      await first!.call('REPLICAOF', '127.0.0.1', String(group.nodes[1]!.port));
      await eventually(async () => {
        const ready = await readiness(hub);
        assert.equal(ready.status, 503);
        assert.match(ready.body.checks.bus, /reached a slave, not the primary/);
      }, 15_000);
      await first!.call('REPLICAOF', 'NO', 'ONE');
      await second!.call('REPLICAOF', '127.0.0.1', String(group.nodes[0]!.port));
      await eventually(async () => assert.equal((await readiness(hub)).status, 200), 30_000);
    } finally {
      first!.disconnect();
      second!.disconnect();
    }
  });
});
