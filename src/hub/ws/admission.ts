import type { AbuseLimits } from '../config.ts';

/** One counted slot: what it counts and how many of them are allowed. */
interface Slot {
  readonly key: string;
  readonly max: number;
  /** Named when the slot is full, e.g. `connections_per_address`. */
  readonly rule: string;
}

/**
 * Connections held on this replica, in total and per remote address, API key and tenant. A socket
 * takes its slots together or not at all, and gives them back exactly once.
 */
export class ConnectionSlots {
  private readonly counts = new Map<string, number>();

  constructor(private readonly limits: AbuseLimits) {}

  /** Slots of a new socket from `address`, or the rule it would break. */
  forSocket(address: string): (() => void) | string {
    return this.acquire([
      { key: 'replica', max: this.limits.maxConnections, rule: 'connections' },
      { key: `address:${address}`, max: this.limits.maxConnectionsPerAddress, rule: 'connections_per_address' },
    ]);
  }

  /** Slots of an authenticated session, or the rule it would break. */
  forSession(keyId: string, tenantId: string): (() => void) | string {
    return this.acquire([
      { key: `key:${keyId}`, max: this.limits.maxConnectionsPerKey, rule: 'connections_per_key' },
      { key: `tenant:${tenantId}`, max: this.limits.maxConnectionsPerTenant, rule: 'connections_per_tenant' },
    ]);
  }

  private acquire(slots: readonly Slot[]): (() => void) | string {
    const full = slots.find((slot) => (this.counts.get(slot.key) ?? 0) >= slot.max);
    if (full !== undefined) return full.rule;
    for (const slot of slots) this.counts.set(slot.key, (this.counts.get(slot.key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const slot of slots) {
        const left = (this.counts.get(slot.key) ?? 1) - 1;
        if (left === 0) this.counts.delete(slot.key);
        else this.counts.set(slot.key, left);
      }
    };
  }
}

/** A session that reads its socket keeps less than this buffered; beyond it, it is the one to shed. */
const READER_SLACK_BYTES = 64 * 1024;
/** Over the budget, frames up to this size still go to sessions that keep up (events, small replies). */
const SMALL_FRAME_BYTES = 64 * 1024;

/**
 * Bytes handed to agent sockets and not yet taken by the kernel, across all sessions: a global
 * budget, so many slow readers together cannot hold more memory than one would be allowed alone.
 */
export class OutboundBudget {
  private inFlight = 0;

  constructor(
    private readonly limitBytes: number,
    private readonly onChange: (bytes: number) => void = () => undefined,
  ) {}

  get bytes(): number {
    return this.inFlight;
  }

  /**
   * Whether a session that already holds `held` bytes may add `bytes` more. Within the budget anyone
   * may; over it, only a small frame to a session that keeps up with its socket, so the overshoot is
   * bounded by the sessions times 128 KiB however large frames are.
   */
  admits(held: number, bytes: number): boolean {
    return this.inFlight + bytes <= this.limitBytes || (held < READER_SLACK_BYTES && bytes <= SMALL_FRAME_BYTES);
  }

  add(bytes: number): void {
    this.inFlight += bytes;
    this.onChange(this.inFlight);
  }

  release(bytes: number): void {
    this.inFlight -= bytes;
    this.onChange(this.inFlight);
  }
}
