/*
 * The agents that put load on the hub during a failover drill, and the loss accounting behind its
 * figures. Each agent sends DMs to the next one and, every fifth DM, a broadcast; the drill names
 * the phase it is in, so every acknowledgement, failure and reconnect is counted against the
 * disruption that was happening when it started. Shared by the local and k8s targets.
 */
import { HubClient, HubRequestError } from '../../src/hub/client/client.ts';
import type { BackoffOptions } from '../../src/hub/client/backoff.ts';

export interface EventFigures {
  readonly event: string;
  readonly dmsAcknowledged: number;
  /** Acknowledged DMs their recipient never received. */
  readonly dmsLost: number;
  readonly broadcastsAcknowledged: number;
  /** Broadcast deliveries missed by agents that were in the fleet: at-most-once by design. */
  readonly broadcastDeliveriesMissed: number;
  /** Requests that failed for the application after the client's own retries. */
  readonly failedRequests: number;
  readonly reconnects: number;
  readonly reconnectP50Ms?: number;
  readonly reconnectP99Ms?: number;
}

export interface AgentLoadOptions<E extends string> {
  /** WebSocket URLs the agents connect to (a load balancer, an ingress). */
  readonly urls: readonly string[];
  /** An API key of the drill's fleet; a secret, never printed. */
  readonly apiKey: string;
  readonly agents: number;
  /** Each agent waits this long after each DM: the load's rate. */
  readonly intervalMs: number;
  /** Phases in report order; the first is the phase the load starts in. */
  readonly events: readonly [E, ...E[]];
  readonly namePrefix: string;
  readonly backoff?: BackoffOptions;
  /** Sending stops by itself after this long, so a drill that hangs cannot load a cluster forever. */
  readonly maxSeconds?: number;
}

interface SentDm<E> {
  readonly key: string;
  readonly event: E;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** The slowest reconnect p99 of any phase, in seconds: how long agents were without a hub at worst. */
export const worstReconnectP99Seconds = (events: readonly EventFigures[]): number =>
  Math.max(...events.map((e) => e.reconnectP99Ms ?? 0)) / 1000;

export class AgentLoad<E extends string> {
  /** The phase new requests and reconnects are counted against. */
  event: E;
  private readonly clients: HubClient[] = [];
  private readonly ids: string[] = [];
  private readonly sent: SentDm<E>[] = [];
  private readonly received = new Set<string>();
  private readonly broadcasts = new Map<string, { event: E; expected: number }>();
  private readonly broadcastSeen = new Map<string, number>();
  private readonly failed = new Map<E, number>();
  private readonly reconnects = new Map<E, number[]>();
  private senders: Promise<void>[] = [];
  private sending = false;

  constructor(private readonly options: AgentLoadOptions<E>) {
    this.event = options.events[0];
    for (const e of options.events) {
      this.failed.set(e, 0);
      this.reconnects.set(e, []);
    }
  }

  get dmsAcknowledged(): number {
    return this.sent.length;
  }

  /** Connects the agents one by one; `close` releases the ones connected so far if this throws. */
  async connect(): Promise<void> {
    for (let i = 0; i < this.options.agents; i++) {
      const client = new HubClient({
        urls: this.options.urls,
        apiKey: this.options.apiKey,
        agent: { name: `${this.options.namePrefix}-${i}` },
        backoff: this.options.backoff ?? { initialMs: 50, maxMs: 1000 },
      });
      this.clients.push(client);
      let disconnectedAt: number | undefined;
      client.on('disconnected', () => (disconnectedAt ??= Date.now()));
      client.on('connected', () => {
        if (disconnectedAt !== undefined) this.reconnects.get(this.event)!.push(Date.now() - disconnectedAt);
        disconnectedAt = undefined;
      });
      client.on('dm', (m) => this.received.add((m.body as { key: string }).key));
      client.on('event', (name, payload) => {
        if (name !== 'activity') return;
        const key = (payload as { activity: { data: { key: string } } }).activity.data.key;
        this.broadcastSeen.set(key, (this.broadcastSeen.get(key) ?? 0) + 1);
      });
      this.ids.push((await client.connect()).agentId);
    }
  }

  start(): void {
    this.sending = true;
    const until = this.options.maxSeconds === undefined ? Infinity : Date.now() + this.options.maxSeconds * 1000;
    this.senders = this.clients.map(async (client, i) => {
      for (let n = 0; this.sending && Date.now() < until; n++) {
        const to = this.ids[(i + 1) % this.ids.length]!;
        const key = `${i}-${n}`;
        const at = this.event;
        try {
          await client.sendDm(to, { key }, { idempotencyKey: `dm-${key}`, deadlineMs: 20_000 });
          this.sent.push({ key, event: at });
          if (n % 5 === 0) {
            await client.call(
              'activity.broadcast',
              { kind: 'drill', data: { key: `b-${key}` } },
              { deadlineMs: 20_000 },
            );
            this.broadcasts.set(`b-${key}`, { event: at, expected: this.options.agents - 1 });
          }
        } catch (error) {
          // `closed` is the drill closing the client at the end, not a failure of the hub.
          if (!(error instanceof HubRequestError) || error.code !== 'closed')
            this.failed.set(at, this.failed.get(at)! + 1);
        }
        await sleep(this.options.intervalMs);
      }
    });
  }

  /** Stops sending and waits (up to `settleMs`) for every acknowledged DM to reach its recipient. */
  async stop(settleMs = 15_000): Promise<void> {
    this.sending = false;
    await Promise.all(this.senders);
    const deadline = Date.now() + settleMs;
    while (Date.now() < deadline && this.sent.some((s) => !this.received.has(s.key))) await sleep(100);
  }

  close(): void {
    this.sending = false;
    for (const client of this.clients) client.close();
  }

  figures(): EventFigures[] {
    return this.options.events.map((e): EventFigures => {
      const dms = this.sent.filter((s) => s.event === e);
      const casts = [...this.broadcasts.entries()].filter(([, b]) => b.event === e);
      const reconnects = this.reconnects.get(e)!;
      return {
        event: e,
        dmsAcknowledged: dms.length,
        dmsLost: dms.filter((s) => !this.received.has(s.key)).length,
        broadcastsAcknowledged: casts.length,
        broadcastDeliveriesMissed: casts.reduce(
          (sum, [key, b]) => sum + Math.max(0, b.expected - (this.broadcastSeen.get(key) ?? 0)),
          0,
        ),
        failedRequests: this.failed.get(e)!,
        reconnects: reconnects.length,
        reconnectP50Ms: percentile(reconnects, 50),
        reconnectP99Ms: percentile(reconnects, 99),
      };
    });
  }
}
