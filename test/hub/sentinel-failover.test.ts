/*
 * Two hubs reach Redis through Sentinel: a primary, one replica and three sentinels (quorum 2), real
 * redis-server processes on loopback. Agents on both hubs exchange DMs while the primary is killed
 * with SIGKILL; the sentinels promote the replica, both hubs reconnect to it (bus and rate-limit
 * connections) within a stated bound, and every DM a hub acknowledged reaches its recipient exactly
 * once: DMs are written to Postgres before the acknowledgement, Redis carries only the notices,
 * presence and rate limits.
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
import { limitsLifted } from '../../src/hub/config.ts';
import type { HubClient } from '../../src/hub/client/client.ts';
import { Admin, closeAllClients, collectDms, connectAgent, eventually } from './helpers/hub-harness.ts';
import { explainedByRedis, readiness, startHubProcess, TSX_HUB, type HubProcess } from './helpers/hub-process.ts';
import { sentinelHubEnv } from './helpers/sentinel-hub.ts';

/*
 * The sentinels take down-after (1 s) to agree the primary is down, then elect a leader and promote
 * the replica, usually 2-3 s after the kill (a split vote retries after twice failover-timeout, 20 s).
 * The hub's part is bounded from the promotion: they retry at most 1 s apart and leave the old
 * primary on the sentinels' +switch-master notice.
 */
const DOWN_AFTER_MS = 1_000;
const PROMOTION_WITHIN_MS = 30_000;
const RECONNECT_BOUND_MS = 5_000;
const PAIRS = 4;
const SEND_INTERVAL_MS = 50;

const ready = async (hub: HubProcess) => (await readiness(hub)).ok;

describe('Sentinel failover (two hub processes)', () => {
  let postgres: LocalPostgres;
  let group: RedisSentinelGroup;
  let hubs: HubProcess[];

  before(async () => {
    [postgres, group] = await Promise.all([startPostgres(), startRedisSentinelGroup({ downAfterMs: DOWN_AFTER_MS })]);
    const env = { ...limitsLifted(), ...sentinelHubEnv(postgres, group) };
    hubs = await Promise.all([startHubProcess(TSX_HUB, env), startHubProcess(TSX_HUB, env)]);
    await eventually(
      async () => assert.ok((await ready(hubs[0]!)) && (await ready(hubs[1]!)), 'both hubs ready'),
      20_000,
    );
  });

  after(async () => {
    closeAllClients();
    await Promise.all((hubs ?? []).map((hub) => hub.terminate()));
    await Promise.all([postgres?.stop(), group?.stop()]);
  });

  it('loses no acknowledged DM when the primary is killed, and both hubs reconnect to the promoted replica', async () => {
    const [one, two] = hubs as [HubProcess, HubProcess];
    const oldPrimary = await group.primaryPort();
    assert.equal(oldPrimary, group.nodes[0]!.port);
    const tenant = await new Admin(one.adminUrl).provision('sentinel');

    // Each pair: a sender on one hub, its receiver on the other, half of them each way.
    const pairs: { sender: HubClient; receiver: HubClient; got: ReturnType<typeof collectDms>; acked: number[] }[] = [];
    for (let i = 0; i < PAIRS; i++) {
      const [from, to] = i % 2 === 0 ? [one, two] : [two, one];
      let got!: ReturnType<typeof collectDms>;
      const receiver = await connectAgent(to.wsUrl, tenant.key, `receiver-${i}`, {
        onCreate: (c) => (got = collectDms(c)),
      });
      const sender = await connectAgent(from.wsUrl, tenant.key, `sender-${i}`);
      pairs.push({ sender, receiver, got, acked: [] });
    }

    let sending = true;
    const failures: unknown[] = [];
    const senders = pairs
      .map(async (pair) => {
        for (let n = 0; sending; n++) {
          // sendDm retries with one idempotency key through the outage, so each body is sent once.
          const receipt = await pair.sender.sendDm(pair.receiver.identity.agentId, n, { deadlineMs: 60_000 });
          pair.acked.push(receipt.seq);
          await new Promise((r) => setTimeout(r, SEND_INTERVAL_MS));
        }
      })
      .map((sender) => sender.catch((error: unknown) => failures.push(error)));
    await new Promise((r) => setTimeout(r, 1_000));
    const killedAt = Date.now();
    await group.nodes[0]!.kill();
    // A hub is back once both its connections said they were restored (each logs it once per outage)
    // and it answers ready; the outage may be too short for a poll to see it not ready in between.
    const restored = (hub: HubProcess) =>
      new Set(
        hub.logs
          .filter((l) => l.msg === 'Redis connection restored' && Date.parse(l.time) >= killedAt)
          .map((l) => l.role),
      ).size === 2;
    const readyAgainMs: (number | undefined)[] = [undefined, undefined];
    let promotedMs: number | undefined;
    const reconnected = eventually(async () => {
      if (promotedMs === undefined && (await group.primaryPort()) !== oldPrimary) promotedMs = Date.now() - killedAt;
      for (const [i, hub] of hubs.entries()) {
        if (readyAgainMs[i] === undefined && restored(hub) && (await ready(hub)))
          readyAgainMs[i] = Date.now() - killedAt;
      }
      // A message of its own: without one, assert.ok parses the call's source on every failed poll.
      assert.ok(
        promotedMs !== undefined && readyAgainMs.every((ms) => ms !== undefined),
        `replica promoted (${promotedMs} ms) and both hubs ready again (${readyAgainMs.join(', ')} ms)`,
      );
    }, PROMOTION_WITHIN_MS + RECONNECT_BOUND_MS);
    await explainedByRedis(reconnected, hubs, killedAt);
    const newPrimary = await group.primaryPort();
    assert.equal(newPrimary, group.nodes[1]!.port, 'the sentinels promoted the replica');
    console.log(
      `replica promoted ${promotedMs} ms after the primary was killed; hubs ready again at ${readyAgainMs.join(' and ')} ms`,
    );
    for (const ms of readyAgainMs) {
      assert.ok(ms! - promotedMs! < RECONNECT_BOUND_MS, `ready within ${RECONNECT_BOUND_MS} ms of the promotion`);
    }

    // Both hubs' command and subscriber connections are on the promoted server.
    const promoted = new Redis({ host: '127.0.0.1', port: newPrimary, password: group.password });
    try {
      const clients = String(await promoted.call('CLIENT', 'LIST'));
      const names = [...clients.matchAll(/ name=(ringforge-hub-\S+)/g)].map((m) => m[1]).sort();
      assert.deepEqual(names, [
        'ringforge-hub-commands',
        'ringforge-hub-commands',
        'ringforge-hub-subscriber',
        'ringforge-hub-subscriber',
      ]);
      assert.equal(await promoted.call('ROLE').then((role) => (role as string[])[0]), 'master');
    } finally {
      promoted.disconnect();
    }

    await new Promise((r) => setTimeout(r, 1_500));
    sending = false;
    await Promise.all(senders);
    assert.deepEqual(failures, [], 'every DM was acknowledged within its deadline');

    const acknowledged = pairs.reduce((sum, pair) => sum + pair.acked.length, 0);
    await eventually(() => {
      for (const pair of pairs) assert.deepEqual(pair.got.seqs, pair.acked);
    }, 15_000);
    const lost = pairs.reduce((sum, pair) => sum + pair.acked.filter((seq) => !pair.got.seqs.includes(seq)).length, 0);
    console.log(`${acknowledged} DMs acknowledged across the failover, ${lost} lost`);
    assert.equal(lost, 0);
    assert.ok(acknowledged > PAIRS * 20, `DMs flowed before and after the failover (${acknowledged})`);
    assert.equal(one.child.exitCode, null);
    assert.equal(two.child.exitCode, null);
  });
});
