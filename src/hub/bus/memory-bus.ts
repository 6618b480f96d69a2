import type { Logger } from '../log.ts';
import { Subscriptions, type Bus } from './bus.ts';

/** In-process bus for embedded mode. Messages are copied through JSON, as they would be through Redis. */
export function createMemoryBus(log: Logger): Bus {
  const subscriptions = new Subscriptions();
  return {
    kind: 'memory',
    async publish(channel, message) {
      const copy: unknown = JSON.parse(JSON.stringify(message));
      queueMicrotask(() =>
        subscriptions.dispatch(channel, copy, (error) => log.error({ err: error, channel }, 'bus handler failed')),
      );
    },
    async subscribe(channel, handler) {
      subscriptions.add(channel, handler);
    },
    async unsubscribe(channel, handler) {
      subscriptions.remove(channel, handler);
    },
    // An in-process bus has no outages to recover from.
    onRestored() {},
    async ping() {},
    async close() {},
  };
}
