/*
 * A rolling restart under load: two hub processes on one Postgres and one Redis, a sender streaming
 * direct messages to a receiver, both connected to replica A. A gets SIGTERM; the clients reconnect
 * to B and carry on. Every DM whose send was acknowledged arrives exactly once, in sequence order.
 */
import { limitsLifted } from '../../src/hub/config.ts';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { HubClient } from '../../src/hub/client/client.ts';
import {
  ADMIN_TOKEN,
  Admin,
  closeAllClients,
  connectAgent,
  eventually,
  startBacking,
  type Backing,
} from './helpers/hub-harness.ts';
import { startHubProcess, TSX_HUB, type HubProcess } from './helpers/hub-process.ts';

describe('graceful shutdown (server, two processes)', () => {
  let backing: Backing;
  let a: HubProcess;
  let b: HubProcess;

  before(async () => {
    backing = await startBacking('server');
    const env = {
      ...backing.env,
      HUB_ADMIN_TOKEN: ADMIN_TOKEN,
      HUB_SHUTDOWN_GRACE_MS: '10000',
      ...limitsLifted(),
    };
    [a, b] = await Promise.all([
      startHubProcess(TSX_HUB, { ...env, HUB_REPLICA_ID: 'replica-a' }),
      startHubProcess(TSX_HUB, { ...env, HUB_REPLICA_ID: 'replica-b' }),
    ]);
  });

  after(async () => {
    closeAllClients();
    await Promise.all([a?.terminate(), b?.terminate()]);
    await backing?.stop();
  });

  it('delivers every acknowledged DM exactly once after the clients move to the surviving replica', async () => {
    const tenant = await new Admin(a.adminUrl).provision('rolling');
    const urls = [a.wsUrl, b.wsUrl];
    const delivered: number[] = [];
    const receiver = await connectAgent(urls, tenant.key, 'receiver', {
      onCreate: (c) => c.on('dm', (m) => delivered.push(m.seq)),
    });
    const sender = await connectAgent(urls, tenant.key, 'sender');
    const closeCodes: number[] = [];
    for (const client of [sender, receiver]) client.on('disconnected', ({ code }) => closeCodes.push(code));
    assert.deepEqual([sender.identity.replicaId, receiver.identity.replicaId], ['replica-a', 'replica-a']);

    const acknowledged: number[] = [];
    let stop = false;
    const stream = (async (client: HubClient) => {
      for (let i = 0; !stop && i < 20_000; i++) {
        const receipt = await client.sendDm(receiver.identity.agentId, { i }, { deadlineMs: 20_000 });
        acknowledged.push(receipt.seq);
      }
    })(sender);

    await eventually(() => assert.ok(acknowledged.length >= 100), 10_000);
    const exitCode = a.terminate();
    await eventually(
      () => assert.equal(receiver.connected && receiver.identity.replicaId === 'replica-b', true),
      15_000,
    );
    await eventually(() => assert.equal(sender.connected && sender.identity.replicaId === 'replica-b', true), 15_000);
    const atSwitch = acknowledged.length;
    await eventually(() => assert.ok(acknowledged.length >= atSwitch + 100), 15_000);
    stop = true;
    await stream;

    assert.equal(await exitCode, 0, 'replica A exits 0 within its grace period');
    assert.ok(a.logs.some((l) => /hub draining/.test(l.msg)));
    assert.ok(closeCodes.includes(1012), `clients were told to reconnect (close codes ${closeCodes.join(', ')})`);

    await eventually(() => assert.equal(delivered.length, acknowledged.length), 15_000);
    const expected = Array.from({ length: acknowledged.length }, (_, i) => i + 1);
    assert.deepEqual(
      [...acknowledged].sort((x, y) => x - y),
      expected,
      'acknowledged seqs are gapless',
    );
    assert.deepEqual(delivered, expected, 'each acknowledged DM arrived exactly once, in order');
    console.log(
      `rolling restart: ${acknowledged.length} DMs acknowledged (${atSwitch} before the switch), ` +
        `${delivered.length} delivered exactly once, ${receiver.duplicatesDropped} wire duplicates dropped by seq`,
    );
  });
});
