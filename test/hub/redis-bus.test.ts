/*
 * The Redis bus keeps its subscriber connection subscribed to every channel that has a handler: one
 * registered while Redis is down, or whose SUBSCRIBE failed, is subscribed once Redis answers, and all
 * of them again after the connection is lost, after which the bus says it is restored (notices
 * published meanwhile are lost, and holders read again). A real redis-server on loopback.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { freePort, startRedis, type LocalService } from '../../scripts/lib/local-services.ts';
import { channels as busChannels, type Bus } from '../../src/hub/bus/bus.ts';
import { createRedisBus } from '../../src/hub/bus/redis-bus.ts';
import { createLogger } from '../../src/hub/log.ts';
import { eventually } from './helpers/hub-harness.ts';

const log = createLogger('silent');

/** Publishes on `channel` until `received` says it arrived: a publish before the subscription is lost. */
async function arrives(bus: Bus, channel: string, received: () => boolean, timeoutMs = 10_000): Promise<void> {
  await eventually(async () => {
    await bus.publish(channel, { probe: channel }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(received(), `a message on ${channel} reached its handler`);
  }, timeoutMs);
}

describe('Redis bus subscriptions', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  it('subscribes a handler registered while Redis was down once Redis answers, and says it is restored', async () => {
    const port = await freePort();
    const bus = createRedisBus({ kind: 'direct', url: `redis://127.0.0.1:${port}` }, log);
    cleanups.push(() => bus.close());
    let restored = 0;
    bus.onRestored(() => restored++);
    const got: unknown[] = [];
    const channel = busChannels.agent('ag_down_at_start');
    await assert.rejects(bus.subscribe(channel, (message) => got.push(message)));

    const redis: LocalService = await startRedis({ port });
    cleanups.push(() => redis.stop());
    await arrives(bus, channel, () => got.length > 0);
    await eventually(() => assert.equal(restored, 1, 'restored once, after the channels were subscribed'));
  });

  it('subscribes every channel again after its connection is killed, then says it is restored', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const bus = createRedisBus({ kind: 'direct', url: `redis://127.0.0.1:${redis.port}` }, log);
    cleanups.push(() => bus.close());
    let restored = 0;
    bus.onRestored(() => restored++);
    // More channels than one SUBSCRIBE carries when they are restored together.
    const names = Array.from({ length: 1_200 }, (_, i) => busChannels.agent(`ag_${i}`));
    const seen = new Set<string>();
    await Promise.all(names.map((name) => bus.subscribe(name, () => seen.add(name))));

    const admin = new Redis({ port: redis.port, lazyConnect: true });
    cleanups.push(async () => admin.disconnect());
    await admin.connect();
    assert.equal(Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')), 1, 'the subscriber was killed');
    await eventually(() => assert.equal(restored, 1), 10_000);
    assert.equal(Number(await admin.call('PUBSUB', 'NUMSUB', names.at(-1)!).then((r) => (r as unknown[])[1])), 1);
    await Promise.all(names.map((name) => bus.publish(name, {})));
    await eventually(() => assert.equal(seen.size, names.length, 'every channel heard its message'));
  });

  it('drops a channel whose last handler left while it was being subscribed', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const bus = createRedisBus({ kind: 'direct', url: `redis://127.0.0.1:${redis.port}` }, log);
    cleanups.push(() => bus.close());
    const admin = new Redis({ port: redis.port });
    cleanups.push(async () => admin.disconnect());
    const kept = busChannels.fleet('flt_kept');
    await bus.subscribe(kept, () => undefined);

    const handler = () => undefined;
    const left = busChannels.fleet('flt_left');
    const subscribing = bus.subscribe(left, handler);
    await bus.unsubscribe(left, handler);
    await subscribing;
    await eventually(async () => assert.deepEqual(await admin.call('PUBSUB', 'CHANNELS', 'rf:fleet:*'), [kept]));
  });
  it('connects again when its client gives up by itself, and stays closed once the bus closes it', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const bus = createRedisBus({ kind: 'direct', url: `redis://127.0.0.1:${redis.port}` }, log);
    cleanups.push(() => bus.close());
    await eventually(() => bus.ping(1_000));
    // ioredis ends a Sentinel connection for good when a failover notice reaches it while it looks
    // for the primary; a disconnect without reconnect leaves the client in the same state.
    bus.commands.disconnect(false);
    await eventually(() => assert.equal(bus.commands.status, 'end'));
    await eventually(() => bus.ping(1_000));

    await bus.close();
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(bus.commands.status, 'end', 'a connection the bus closed stays closed');
  });
});
