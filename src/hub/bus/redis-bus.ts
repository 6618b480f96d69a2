import type { Redis } from 'ioredis';
import { withTimeout } from '../db/database.ts';
import type { Logger } from '../log.ts';
import { Subscriptions, type Bus } from './bus.ts';
import { connectRedis } from './redis.ts';

/** Redis pub/sub; one connection publishes, one subscribes (a subscribed connection can do nothing else). */
export async function createRedisBus(url: string, log: Logger): Promise<Bus & { readonly commands: Redis }> {
  const commands = connectRedis(url, 'commands', log);
  const subscriber = connectRedis(url, 'subscriber', log);
  await Promise.all([commands.connect(), subscriber.connect()]);
  const subscriptions = new Subscriptions();
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
      if (subscriptions.add(channel, handler)) await subscriber.subscribe(channel);
    },
    async unsubscribe(channel, handler) {
      if (subscriptions.remove(channel, handler)) await subscriber.unsubscribe(channel);
    },
    async ping(timeoutMs) {
      await withTimeout(Promise.all([commands.ping(), subscriber.ping()]), timeoutMs, 'Redis');
    },
    async close() {
      await Promise.allSettled([commands.quit(), subscriber.quit()]);
    },
  };
}
