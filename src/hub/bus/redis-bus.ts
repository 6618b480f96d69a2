import type { Redis } from 'ioredis';
import { withTimeout } from '../db/database.ts';
import type { RedisTarget } from '../config.ts';
import type { Logger } from '../log.ts';
import { Subscriptions, type Bus } from './bus.ts';
import { RedisChannels } from './redis-channels.ts';
import { closeRedis, connectInBackground, connectRedis, notConnected, requirePrimary } from './redis.ts';

/**
 * Redis pub/sub; one connection publishes, one subscribes (a subscribed connection can do nothing else).
 * Both connect in the background, so the bus exists (not ready) while Redis is unreachable.
 */
export function createRedisBus(target: RedisTarget, log: Logger): Bus & { readonly commands: Redis } {
  const commands = connectRedis(target, 'commands', log);
  const subscriber = connectRedis(target, 'subscriber', log);
  const subscriptions = new Subscriptions();
  const subscribed = new RedisChannels(subscriber, subscriptions, log);
  connectInBackground(commands);
  connectInBackground(subscriber);
  subscriber.on('message', (channel: string, raw: string) => {
    let message: unknown;
    try {
      message = JSON.parse(raw);
    } catch {
      log.warn({ channel }, 'ignored a bus message that is not JSON');
      return;
    }
    subscriptions.dispatch(channel, message, (error) => log.error({ err: error, channel }, 'bus handler failed'));
  });
  return {
    kind: 'redis',
    commands,
    async publish(channel, message) {
      await commands.publish(channel, JSON.stringify(message));
    },
    async subscribe(channel, handler) {
      subscriptions.add(channel, handler);
      await subscribed.ensure(channel);
    },
    async unsubscribe(channel, handler) {
      if (subscriptions.remove(channel, handler)) await subscribed.release(channel);
    },
    onRestored(listener) {
      subscribed.onRestored(listener);
    },
    async ping(timeoutMs) {
      const down = notConnected(commands, 'commands') ?? notConnected(subscriber, 'subscriber');
      if (down !== undefined) throw new Error(down);
      // Through Sentinel the primary moves under a connection; a direct REDIS_URL names the one server.
      const primary = target.kind === 'sentinel' ? requirePrimary(commands, 'commands') : commands.ping();
      await withTimeout(Promise.all([primary, subscriber.ping()]), timeoutMs, 'Redis');
    },
    async close() {
      subscribed.stop();
      await Promise.allSettled([closeRedis(commands), closeRedis(subscriber)]);
    },
  };
}
