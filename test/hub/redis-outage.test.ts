/*
 * A hub whose Redis is unreachable stays up instead of exiting: at start it serves not ready, with
 * the reason under checks.bus, and turns ready by itself once Redis answers; an outage while it runs
 * turns it not ready until Redis is back, and agents exchange DMs again afterwards. The Redis is a
 * real redis-server on loopback, stopped and started again on the same port.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import {
  freePort,
  startPostgres,
  startRedis,
  type LocalPostgres,
  type LocalService,
} from '../../scripts/lib/local-services.ts';
import { ADMIN_TOKEN, Admin, closeAllClients, collectDms, connectAgent, eventually } from './helpers/hub-harness.ts';
import { explainedByRedis, readiness, startHubProcess, TSX_HUB, type HubProcess } from './helpers/hub-process.ts';

/** Ready within this long of Redis answering: the reconnect delay is capped at 5 s. */
const RECOVERY_BOUND_MS = 8_000;

describe('Redis outages (server, one process)', () => {
  let postgres: LocalPostgres;
  let redis: LocalService | undefined;
  let redisPort: number;
  let hub: HubProcess;

  before(async () => {
    [postgres, redisPort] = await Promise.all([startPostgres(), freePort()]);
    hub = await startHubProcess(TSX_HUB, {
      DATABASE_URL: postgres.url,
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      HUB_ADMIN_TOKEN: ADMIN_TOKEN,
      HUB_SHUTDOWN_GRACE_MS: '5000',
    });
  });

  /** Ready again within the bound of Redis answering; a failure says what the hub logged since `since`. */
  const readyAgain = (since: number) =>
    explainedByRedis(
      eventually(async () => assert.equal((await readiness(hub)).status, 200), RECOVERY_BOUND_MS),
      [hub],
      since,
    );

  after(async () => {
    closeAllClients();
    await hub?.terminate();
    await Promise.all([postgres?.stop(), redis?.stop()]);
  });

  it('starts with Redis down: live, not ready with the reason, and still running seconds later', async () => {
    await new Promise((r) => setTimeout(r, 3_000));
    assert.equal(hub.child.exitCode, null, 'the hub has not exited');
    assert.equal((await fetch(`${hub.httpUrl}/api/health`)).status, 200);
    const ready = await readiness(hub);
    assert.equal(ready.status, 503);
    assert.equal(ready.body.checks.database, 'ok');
    assert.match(ready.body.checks.bus, /^Redis commands connection is (connecting|reconnecting): retrying/);
    assert.ok(
      hub.logs.some((l) => l.msg === 'Redis connection error' && /ECONNREFUSED/.test(l.err)),
      'the refused connection is logged',
    );
  });

  it('turns ready by itself once Redis answers, and serves agents', async () => {
    const startedAt = Date.now();
    redis = await startRedis({ port: redisPort });
    await readyAgain(startedAt);
    console.log(`ready ${Date.now() - startedAt} ms after Redis started`);
    assert.deepEqual((await readiness(hub)).body.checks, { database: 'ok', bus: 'ok', primary: 'ok', draining: 'ok' });

    const tenant = await new Admin(hub.adminUrl).provision('late-redis');
    let got!: ReturnType<typeof collectDms>;
    const receiver = await connectAgent(hub.wsUrl, tenant.key, 'receiver', { onCreate: (c) => (got = collectDms(c)) });
    const sender = await connectAgent(hub.wsUrl, tenant.key, 'sender');
    await sender.sendDm(receiver.identity.agentId, 'first');
    await eventually(() => assert.deepEqual(got.bodies, ['first']));
    receiver.close();
    sender.close();
  });

  it('turns not ready during an outage while running, and recovers with DMs flowing again', async () => {
    const tenant = await new Admin(hub.adminUrl).provision('outage');
    let got!: ReturnType<typeof collectDms>;
    const receiver = await connectAgent(hub.wsUrl, tenant.key, 'receiver', { onCreate: (c) => (got = collectDms(c)) });
    const sender = await connectAgent(hub.wsUrl, tenant.key, 'sender');
    await sender.sendDm(receiver.identity.agentId, 'before');
    await eventually(() => assert.deepEqual(got.bodies, ['before']));

    const stoppedAt = Date.now();
    await redis!.stop();
    const notReady = eventually(async () => {
      const ready = await readiness(hub);
      assert.equal(ready.status, 503);
      assert.match(ready.body.checks.bus, /^Redis (commands|subscriber) connection is/);
    }, 5_000);
    await explainedByRedis(notReady, [hub], stoppedAt);
    // A request that needs Redis (its rate limit) is answered with an error, not left hanging, and
    // the process stays up. (request, not sendDm: sendDm would retry it until Redis is back.)
    const startedAt = Date.now();
    await assert.rejects(sender.request('dm.send', { to: receiver.identity.agentId, body: 'during' }), {
      code: 'internal',
    });
    // Within a connection attempt or two: against a stopped container an attempt can take until
    // its connect timeout, where a stopped local server refuses at once.
    assert.ok(Date.now() - startedAt < 15_000, 'answered within seconds');
    assert.equal(hub.child.exitCode, null, 'the hub has not exited');

    const restartedAt = Date.now();
    redis = await startRedis({ port: redisPort });
    await readyAgain(restartedAt);
    console.log(`ready ${Date.now() - restartedAt} ms after Redis came back`);
    // The subscriber resubscribed on the new server: a DM reaches the receiver's open session.
    await eventually(() => assert.ok(sender.connected && receiver.connected, 'both agents reconnected'), 10_000);
    await sender.sendDm(receiver.identity.agentId, 'after');
    await eventually(() => assert.deepEqual(got.bodies.at(-1), 'after'), 5_000);
    assert.ok(!got.bodies.includes('during'), 'the refused DM was not delivered');
    assert.equal(hub.child.exitCode, null);
  });

  it('delivers a DM whose notice was published while the subscriber reconnected, to the open session', async () => {
    const testStartedAt = Date.now();
    const tenant = await new Admin(hub.adminUrl).provision('lost-notice');
    let got!: ReturnType<typeof collectDms>;
    const receiver = await connectAgent(hub.wsUrl, tenant.key, 'receiver', { onCreate: (c) => (got = collectDms(c)) });
    const sender = await connectAgent(hub.wsUrl, tenant.key, 'sender');
    let reconnects = 0;
    receiver.on('connected', () => reconnects++);

    // Only the subscriber connection drops: a DM is stored and its notice published while nobody
    // listens (the first reconnect attempt waits 200 ms), so only reading the table can deliver it.
    // Nobody subscribed after the receipt means nobody was when it was published.
    const admin = new Redis({ port: redisPort });
    const subscribers = async () =>
      Number(((await admin.call('PUBSUB', 'NUMSUB', `rf:agent:${receiver.identity.agentId}`)) as unknown[])[1]);
    let lost: string | undefined;
    try {
      for (let attempt = 0; attempt < 5 && lost === undefined; attempt++) {
        await eventually(async () => assert.equal(await subscribers(), 1));
        assert.equal(Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')), 1);
        await sender.sendDm(receiver.identity.agentId, `while resubscribing ${attempt}`);
        if ((await subscribers()) === 0) lost = `while resubscribing ${attempt}`;
      }
    } finally {
      admin.disconnect();
    }
    assert.ok(lost !== undefined, 'a DM was sent while the subscriber was away');
    await explainedByRedis(
      eventually(() => assert.deepEqual(got.bodies.at(-1), lost), 10_000),
      [hub],
      testStartedAt,
    );
    assert.equal(reconnects, 0, 'the receiver kept its session');
    assert.ok(hub.logs.some((l) => l.msg === 'Redis connection restored' && l.role === 'subscriber'));
  });
});
