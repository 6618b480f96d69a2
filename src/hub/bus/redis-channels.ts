import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import type { Subscriptions } from './bus.ts';

/** Channels per SUBSCRIBE when many are subscribed at once (after a reconnect, one per agent). */
const CHUNK = 500;
/** How often channels that should be subscribed but are not are tried again while connected. */
const RECONCILE_EVERY_MS = 5_000;

/**
 * Keeps the subscriber connection subscribed to every channel that has a handler. The handlers are
 * what is wanted; Redis is made to match: after every reconnect, periodically while something is
 * missing, and once per `subscribe` call. ioredis' own resubscription is off, since it restores only
 * the channels Redis had confirmed and drops any whose SUBSCRIBE failed, leaving handlers that never
 * hear a message again while the hub believes them subscribed.
 */
export class RedisChannels {
  /** Channels Redis confirmed on the current connection. */
  private readonly confirmed = new Set<string>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly restoredListeners: (() => void)[] = [];
  private readonly timer: NodeJS.Timeout;
  /** A connection was lost: the listeners are told once every channel is subscribed again. */
  private restoreOwed = false;

  constructor(
    private readonly subscriber: Redis,
    private readonly wanted: Subscriptions,
    private readonly log: Logger,
  ) {
    subscriber.on('close', () => {
      this.confirmed.clear();
      this.restoreOwed = true;
    });
    subscriber.on('ready', () => void this.reconcile());
    this.timer = setInterval(() => void this.reconcile(), RECONCILE_EVERY_MS).unref();
  }

  onRestored(listener: () => void): void {
    this.restoredListeners.push(listener);
  }

  /** Resolves once Redis confirmed the channel on the current connection. */
  ensure(channel: string): Promise<void> {
    if (this.confirmed.has(channel)) return Promise.resolve();
    return this.inFlight.get(channel) ?? this.subscribe([channel]);
  }

  /** Drops a channel that has no handler left. */
  async release(channel: string): Promise<void> {
    this.confirmed.delete(channel);
    if (this.subscriber.status === 'ready') await this.subscriber.unsubscribe(channel);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private subscribe(channels: string[]): Promise<void> {
    const pending = this.subscriber.subscribe(...channels).then(
      async () => {
        for (const channel of channels) this.inFlight.delete(channel);
        // A channel whose last handler left while it was being subscribed is dropped again.
        const unwanted = channels.filter((channel) => !this.wanted.has(channel));
        for (const channel of channels) if (this.wanted.has(channel)) this.confirmed.add(channel);
        if (unwanted.length > 0) await this.subscriber.unsubscribe(...unwanted);
      },
      (error: unknown) => {
        for (const channel of channels) this.inFlight.delete(channel);
        throw error;
      },
    );
    for (const channel of channels) this.inFlight.set(channel, pending);
    return pending;
  }

  /** Subscribes whatever has handlers and is not subscribed; after a reconnect, tells the listeners. */
  private async reconcile(): Promise<void> {
    if (this.subscriber.status !== 'ready') return;
    const missing = this.wanted.channels().filter((c) => !this.confirmed.has(c) && !this.inFlight.has(c));
    const chunks = Array.from({ length: Math.ceil(missing.length / CHUNK) }, (_, i) =>
      missing.slice(i * CHUNK, (i + 1) * CHUNK),
    );
    const results = await Promise.allSettled([
      ...chunks.map((chunk) => this.subscribe(chunk)),
      ...this.inFlight.values(),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      this.log.warn({ err: failed.reason, channels: missing.length }, 'resubscribing failed: retrying');
      return;
    }
    if (missing.length > 0) this.log.info({ channels: missing.length }, 'bus channels subscribed again');
    if (!this.restoreOwed || this.subscriber.status !== 'ready') return;
    this.restoreOwed = false;
    for (const listener of this.restoredListeners) listener();
  }
}
