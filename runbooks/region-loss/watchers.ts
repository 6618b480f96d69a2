/*
 * What the region-loss drill watches while it runs: the load balancer's readiness (what the geo load
 * balancer's monitors see), the first write acknowledged after the loss, and WAL objects landing in
 * a region's bucket.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalObjectStore } from '../../scripts/lib/local-services.ts';
import { HubClient } from '../../src/hub/client/client.ts';
import type { BarmanLocation } from '../lib/barman.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `GET /api/ready` through the load balancer every `intervalMs` and keeps each change. */
export class ReadinessWatch {
  readonly changes: { atMs: number; ready: boolean }[] = [];
  private running = true;
  private readonly loop: Promise<void>;

  constructor(httpUrl: string, intervalMs = 100) {
    this.loop = (async () => {
      while (this.running) {
        const ready = await fetch(`${httpUrl}/api/ready`, { signal: AbortSignal.timeout(1000) }).then(
          (r) => r.status === 200,
          () => false,
        );
        if (this.changes.at(-1)?.ready !== ready) this.changes.push({ atMs: Date.now(), ready });
        await sleep(intervalMs);
      }
    })();
  }

  /** The first period after `fromMs` in which the load balancer had no ready hub, in ms. */
  unreadyAfter(fromMs: number): { fromMs: number; toMs?: number } | undefined {
    const down = this.changes.find((c) => c.atMs >= fromMs && !c.ready);
    if (down === undefined) return undefined;
    const up = this.changes.find((c) => c.atMs > down.atMs && c.ready);
    return { fromMs: down.atMs, ...(up === undefined ? {} : { toMs: up.atMs }) };
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/**
 * An agent that, from `sinceMs` on, sends a DM through the load balancer until one is acknowledged.
 * Connected before the loss, it reconnects like any agent; an acknowledgement for a request sent
 * after the old region was gone can only come from the new one.
 */
export class FirstWriteProbe {
  private constructor(
    private readonly client: HubClient,
    private readonly recipientId: string,
  ) {}

  static async connect(wsUrl: string, apiKey: string): Promise<FirstWriteProbe> {
    const options = { urls: [wsUrl], apiKey, backoff: { initialMs: 50, maxMs: 250 } };
    const recipient = new HubClient({ ...options, agent: { name: 'region-loss-probe-recipient' } });
    const recipientId = (await recipient.connect()).agentId;
    recipient.close();
    const client = new HubClient({ ...options, agent: { name: 'region-loss-probe' } });
    await client.connect();
    return new FirstWriteProbe(client, recipientId);
  }

  /** Resolves with when the first DM sent from now on was acknowledged (epoch ms). */
  async firstAcknowledged(deadlineMs: number): Promise<number> {
    await this.client.sendDm(this.recipientId, { probe: Date.now() }, { deadlineMs });
    return Date.now();
  }

  close(): void {
    this.client.close();
  }
}

export interface ArchivedObject {
  /** Key inside the bucket. */
  readonly key: string;
  /** When the drill first saw it (epoch ms). */
  readonly seenAtMs: number;
}

/** Keys of the WAL objects (segments, partial segments, timeline history) a location holds. */
export function walObjects(store: LocalObjectStore, location: BarmanLocation): string[] {
  const root = join(store.dataDir, location.bucket, location.folder ?? '', location.serverName, 'wals');
  const found: string[] = [];
  const walk = (dir: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else found.push(path.slice(join(store.dataDir, location.bucket).length + 1));
    }
  };
  walk(root);
  return found.sort();
}

/** A full WAL segment (timeline, log and segment, 8 hex digits each), compressed or not; no partial one. */
export const isSegment = (key: string) => /(^|\/)[0-9A-F]{24}(\.(gz|bz2|snappy))?$/.test(key);

/** Waits (polling every 100 ms) until the location holds an object `accept` takes, or the deadline. */
export async function waitForWalObject(
  store: LocalObjectStore,
  location: BarmanLocation,
  accept: (key: string) => boolean,
  timeoutMs: number,
): Promise<ArchivedObject | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const key = walObjects(store, location).find(accept);
    if (key !== undefined) return { key, seenAtMs: Date.now() };
    if (Date.now() > deadline) return undefined;
    await sleep(100);
  }
}
