/*
 * The writes a restore drill must get back: direct messages sent through a running hub (the hub
 * acknowledges a DM only after storing it in Postgres) and a heartbeat row every 100 ms written
 * straight to the database. Each acknowledged write goes into the ledger with its checksum and
 * timestamps; a write that fails or is cut off by the disaster never enters it.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { HubClient } from '../../src/hub/client/client.ts';
import { Ledger, sha256 } from '../lib/ledger.ts';

export const HEARTBEAT_TABLE_SQL = `CREATE TABLE IF NOT EXISTS drill_heartbeat (
  n       bigint PRIMARY KEY,
  at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  payload text NOT NULL
)`;

export interface WorkloadOptions {
  readonly wsUrl: string;
  readonly apiKey: string;
  readonly databaseUrl: string;
  /** @default 100 */
  readonly heartbeatIntervalMs?: number;
  /** Pause between two DMs. @default 10 */
  readonly dmPauseMs?: number;
}

export interface Workload {
  readonly ledger: Ledger;
  /** The agent the DMs go to: the verification reads its queue. */
  readonly recipientId: string;
  /** Stops writing; writes still in flight are abandoned (and stay out of the ledger). */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function startWorkload(options: WorkloadOptions): Promise<Workload> {
  const ledger = new Ledger();
  const clientOptions = { urls: [options.wsUrl], apiKey: options.apiKey, maxReconnectAttempts: 3 };
  const recipient = new HubClient({ ...clientOptions, agent: { name: 'drill-recipient' } });
  const recipientId = (await recipient.connect()).agentId;
  // The recipient stays offline: its queue in Postgres is what the drill checks.
  recipient.close();
  const sender = new HubClient({ ...clientOptions, agent: { name: 'drill-sender' } });
  await sender.connect();

  const db = new pg.Client({ connectionString: options.databaseUrl });
  await db.connect();
  db.on('error', () => undefined);
  await db.query(HEARTBEAT_TABLE_SQL);

  let running = true;
  const dms = (async () => {
    for (let i = 1; running; i++) {
      const body = { n: i, at: new Date().toISOString(), nonce: randomBytes(24).toString('hex') };
      try {
        const receipt = await sender.request<{ seq: number; sentAt: string }>('dm.send', { to: recipientId, body });
        ledger.record({
          stream: 'dm',
          n: receipt.seq,
          sha256: sha256(JSON.stringify(body)),
          serverAtMs: Date.parse(receipt.sentAt),
          ackedAtMs: Date.now(),
        });
      } catch {
        // Not acknowledged: the ledger only holds what the client saw succeed.
      }
      await sleep(options.dmPauseMs ?? 10);
    }
  })();
  const heartbeats = (async () => {
    const interval = options.heartbeatIntervalMs ?? 100;
    for (let n = 1; running; n++) {
      const due = Date.now() + interval;
      const payload = randomBytes(24).toString('hex');
      try {
        const { rows } = await db.query<{ at_ms: number }>(
          'INSERT INTO drill_heartbeat (n, payload) VALUES ($1, $2) RETURNING extract(epoch FROM at) * 1000 AS at_ms',
          [n, payload],
        );
        ledger.record({
          stream: 'heartbeat',
          n,
          sha256: sha256(payload),
          serverAtMs: Number(rows[0]!.at_ms),
          ackedAtMs: Date.now(),
        });
      } catch {
        // The database is gone (the disaster): later numbers would leave a gap, so stop here.
        return;
      }
      await sleep(Math.max(0, due - Date.now()));
    }
  })();

  let stopping: Promise<void> | undefined;
  return {
    ledger,
    recipientId,
    stop() {
      stopping ??= (async () => {
        running = false;
        sender.close();
        await Promise.allSettled([dms, heartbeats]);
        await db.end().catch(() => undefined);
      })();
      return stopping;
    },
  };
}
