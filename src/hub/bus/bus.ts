export type BusHandler = (message: unknown) => void;

/**
 * Fan-out between replicas: Redis pub/sub in server mode, an in-process map in embedded mode.
 * Delivery is at most once; everything that must survive is written to Postgres first.
 */
export interface Bus {
  readonly kind: 'redis' | 'memory';
  publish(channel: string, message: unknown): Promise<void>;
  /**
   * Registers a handler and resolves once the channel is subscribed. A handler stays registered until
   * it is unsubscribed, also when the subscription failed: the bus subscribes it once it can again.
   */
  subscribe(channel: string, handler: BusHandler): Promise<void>;
  unsubscribe(channel: string, handler: BusHandler): Promise<void>;
  /**
   * Calls `listener` whenever the bus is back after an outage with every channel subscribed again.
   * What was published meanwhile is lost, so holders read again what they rely on.
   */
  onRestored(listener: () => void): void;
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Channel names; agent and fleet ids are random and global, so channels never collide across tenants. */
export const channels = {
  agent: (agentId: string) => `rf:agent:${agentId}`,
  fleet: (fleetId: string) => `rf:fleet:${fleetId}`,
  /** Revoked API keys, which every replica drops from its key cache. */
  revokedKeys: 'rf:keys:revoked',
};

/** Handlers per channel, shared by both bus implementations. */
export class Subscriptions {
  private readonly handlers = new Map<string, Set<BusHandler>>();

  /** Adds a handler; true when it is the channel's first. */
  add(channel: string, handler: BusHandler): boolean {
    const set = this.handlers.get(channel);
    if (set !== undefined) {
      set.add(handler);
      return false;
    }
    this.handlers.set(channel, new Set([handler]));
    return true;
  }

  /** Removes a handler; true when the channel has none left. */
  remove(channel: string, handler: BusHandler): boolean {
    const set = this.handlers.get(channel);
    if (set === undefined) return false;
    set.delete(handler);
    if (set.size > 0) return false;
    this.handlers.delete(channel);
    return true;
  }

  has(channel: string): boolean {
    return this.handlers.has(channel);
  }

  channels(): string[] {
    return [...this.handlers.keys()];
  }

  dispatch(channel: string, message: unknown, onError: (error: unknown) => void): void {
    for (const handler of this.handlers.get(channel) ?? []) {
      try {
        handler(message);
      } catch (error) {
        onError(error);
      }
    }
  }
}
