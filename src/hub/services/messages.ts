import { channels, type Bus } from '../bus/bus.ts';
import type { Database } from '../db/database.ts';
import { notFound, HubError } from '../protocol/errors.ts';
import { keyReused } from './idempotency.ts';

/** A direct message as the recipient receives it. */
export interface DirectMessage {
  readonly seq: number;
  readonly from: string;
  readonly body: unknown;
  readonly sentAt: string;
}

/** Bus notification that a message was stored for an agent. */
export interface DmNotice {
  readonly kind: 'dm';
  readonly message: DirectMessage;
}

export interface Sender {
  readonly agentId: string;
  readonly tenantId: string;
  readonly fleetId: string;
}

export interface SendReceipt {
  readonly to: string;
  readonly seq: number;
  readonly sentAt: string;
}

/**
 * How far an agent's seq jumps with its first message on a new database timeline (after a failover or
 * a restore): beyond any number of messages the lost history could have held, so no seq a client has
 * seen is assigned again, and far below 2^53 after any number of failovers.
 */
export const TIMELINE_SEQ_JUMP = 1_000_000_000;

/** The SQLSTATE ringforge_send_dm raises for a recipient not in the sender's fleet. */
const NO_DATA_FOUND = 'P0002';

/**
 * Direct messages are written to Postgres before they are acknowledged, with a sequence number per
 * recipient (incremented under the recipient row's lock, so numbers commit in order). Numbers are
 * gapless except for one jump per database timeline (TIMELINE_SEQ_JUMP).
 * Live delivery is a notification over the bus; the recipient's session falls back to the table.
 */
export class Messages {
  private readonly acks = new Map<
    string,
    { seq: number; resolve: (acked: number) => void; reject: (error: unknown) => void }[]
  >();
  private ackWriting: Promise<void> | undefined;

  constructor(
    private readonly db: Database,
    private readonly bus: Bus,
  ) {}

  /** Stores the message (migration 0005's function, one round trip) and notifies the recipient. */
  async send(sender: Sender, to: string, bodyJson: string, idempotencyKey?: string): Promise<SendReceipt> {
    type Row = {
      outcome: 'sent' | 'replayed' | 'key_reused';
      seq: string | null;
      sent_at: Date | null;
      used_for: string | null;
      response: string | null;
    };
    let row: Row;
    try {
      [row] = (await this.db.query<Row>('SELECT * FROM ringforge_send_dm($1, $2, $3, $4, $5, $6, $7)', [
        to,
        sender.fleetId,
        sender.tenantId,
        sender.agentId,
        bodyJson,
        idempotencyKey ?? null,
        TIMELINE_SEQ_JUMP,
      ])) as [Row];
    } catch (error) {
      if ((error as { code?: unknown }).code === NO_DATA_FOUND) throw notFound(`agent ${to} in your fleet`);
      throw error;
    }
    if (row.outcome === 'key_reused') throw keyReused(row.used_for ?? undefined, 'dm.send');
    const result: SendReceipt =
      row.outcome === 'replayed'
        ? (JSON.parse(row.response!) as SendReceipt)
        : { to, seq: Number(row.seq), sentAt: row.sent_at!.toISOString() };
    // Also after a replay: the first attempt may have stored the message and died before notifying.
    const notice: DmNotice = {
      kind: 'dm',
      message: { seq: result.seq, from: sender.agentId, body: JSON.parse(bodyJson), sentAt: result.sentAt },
    };
    await this.bus.publish(channels.agent(to), notice).catch(() => undefined);
    return result;
  }

  /**
   * Messages after `afterSeq`, oldest first: at most `limit`, and no more once their bodies reach
   * `maxBytes` (the first one always comes), so one reply never carries a whole backlog.
   */
  async after(agentId: string, afterSeq: number, limit: number, maxBytes = Infinity): Promise<DirectMessage[]> {
    const rows = await this.db.query<{ seq: string | number; sender_id: string; body: string; created_at: Date }>(
      'SELECT seq, sender_id, body, created_at FROM messages WHERE recipient_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
      [agentId, afterSeq, limit],
    );
    let bytes = 0;
    const within = rows.filter((r, i) => (bytes += r.body.length) <= maxBytes || i === 0);
    return within.map((r) => ({
      seq: Number(r.seq),
      from: r.sender_id,
      body: JSON.parse(r.body) as unknown,
      sentAt: new Date(r.created_at).toISOString(),
    }));
  }

  /**
   * Cumulative acknowledgement: every message up to `seq` was processed. Returns the acknowledged seq.
   * Acknowledgements that arrive while one write is under way go out together in the next, as one
   * statement: every delivered message is acknowledged, and one write each would double the writes.
   */
  ack(agentId: string, seq: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const waiting = this.acks.get(agentId) ?? [];
      waiting.push({ seq, resolve, reject });
      this.acks.set(agentId, waiting);
      this.flushAcks();
    });
  }

  private flushAcks(): void {
    if (this.ackWriting || this.acks.size === 0) return;
    const batch = new Map(this.acks);
    this.acks.clear();
    const ids = [...batch.keys()];
    const seqs = ids.map((id) => Math.max(...batch.get(id)!.map((w) => w.seq)));
    // Rows are locked in id order, so two replicas' batches never wait on each other in a cycle.
    this.ackWriting = this.db
      .query<{ id: string; acked_seq: string | number }>(
        `WITH wanted AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS w(id, seq)),
              locked AS (SELECT a.id FROM agents a JOIN wanted USING (id) ORDER BY a.id FOR UPDATE OF a)
         UPDATE agents SET acked_seq = GREATEST(acked_seq, wanted.seq)
         FROM wanted WHERE agents.id = wanted.id AND agents.id IN (SELECT id FROM locked) AND dm_seq >= wanted.seq
         RETURNING agents.id, agents.acked_seq`,
        [ids, seqs],
      )
      .then(
        (rows) => {
          const acked = new Map(rows.map((row) => [row.id, Number(row.acked_seq)]));
          for (const [id, waiters] of batch) {
            const seq = acked.get(id);
            for (const waiter of waiters) {
              if (seq !== undefined) waiter.resolve(seq);
              else
                waiter.reject(
                  new HubError('invalid_request', `payload.seq: ${waiter.seq} is beyond the last message sent to you`),
                );
            }
          }
        },
        (error: unknown) => {
          for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
        },
      )
      .finally(() => {
        this.ackWriting = undefined;
        this.flushAcks();
      });
  }
}
