import { channels, type Bus } from '../bus/bus.ts';
import type { Database } from '../db/database.ts';
import { notFound, HubError } from '../protocol/errors.ts';
import { keyReused } from './idempotency.ts';

/** A `dm.ack` waiting for the batch that writes it. */
interface AckWaiter {
  readonly seq: number;
  resolve(acked: number): void;
  reject(error: unknown): void;
}

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
  private readonly acks = new Map<string, AckWaiter[]>();
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
    let row: Row | undefined;
    // A second attempt only when the key's row vanished between its conflict and its read (pruned).
    for (let attempt = 0; row === undefined && attempt < 2; attempt++) {
      try {
        [row] = await this.db.query<Row>('SELECT * FROM ringforge_send_dm($1, $2, $3, $4, $5, $6, $7)', [
          to,
          sender.fleetId,
          sender.tenantId,
          sender.agentId,
          bodyJson,
          idempotencyKey ?? null,
          TIMELINE_SEQ_JUMP,
        ]);
      } catch (error) {
        if ((error as { code?: unknown }).code === NO_DATA_FOUND) throw notFound(`agent ${to} in your fleet`);
        throw error;
      }
    }
    if (row === undefined) throw new Error('ringforge_send_dm returned no row');
    if (row.outcome === 'key_reused') throw keyReused(row.used_for ?? undefined, 'dm.send');
    if (row.outcome === 'sent') {
      const result = { to, seq: Number(row.seq), sentAt: row.sent_at!.toISOString() };
      await this.notify(to, {
        seq: result.seq,
        from: sender.agentId,
        body: JSON.parse(bodyJson),
        sentAt: result.sentAt,
      });
      return result;
    }
    const stored = JSON.parse(row.response!) as SendReceipt;
    // A key names one message: reused for another recipient it is refused, never replayed there.
    if (stored.to !== to) throw keyReused('dm.send to another agent', 'dm.send');
    // The first attempt may have stored the message and died before notifying: notify again, with the
    // message as stored (a replay's body is not trusted to be the same).
    const [message] = await this.db.query<{ body: string }>(
      'SELECT body FROM messages WHERE recipient_id = $1 AND seq = $2 AND sender_id = $3',
      [to, stored.seq, sender.agentId],
    );
    if (message !== undefined) {
      await this.notify(to, {
        seq: stored.seq,
        from: sender.agentId,
        body: JSON.parse(message.body),
        sentAt: stored.sentAt,
      });
    }
    return stored;
  }

  private async notify(to: string, message: DirectMessage): Promise<void> {
    const notice: DmNotice = { kind: 'dm', message };
    await this.bus.publish(channels.agent(to), notice).catch(() => undefined);
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
    this.ackWriting = this.writeAcks(batch).finally(() => {
      this.ackWriting = undefined;
      this.flushAcks();
    });
  }

  /** Writes a batch and settles its waiters; a batch that fails is tried again one agent at a time. */
  private async writeAcks(batch: Map<string, AckWaiter[]>): Promise<void> {
    const ids = [...batch.keys()];
    const seqs = ids.map((id) => Math.max(...batch.get(id)!.map((w) => w.seq)));
    let rows: { id: string; acked_seq: string | number }[];
    try {
      // Rows are locked in id order, so two batches never wait on each other in a cycle; NO KEY UPDATE,
      // like a plain UPDATE, lets the foreign-key checks of messages being stored go by.
      rows = await this.db.query<{ id: string; acked_seq: string | number }>(
        `WITH wanted AS (SELECT * FROM unnest($1::text[], $2::bigint[]) AS w(id, seq)),
              locked AS (SELECT a.id FROM agents a JOIN wanted USING (id) ORDER BY a.id FOR NO KEY UPDATE OF a)
         UPDATE agents SET acked_seq = GREATEST(acked_seq, wanted.seq)
         FROM wanted WHERE agents.id = wanted.id AND agents.id IN (SELECT id FROM locked) AND dm_seq >= wanted.seq
         RETURNING agents.id, agents.acked_seq`,
        [ids, seqs],
      );
    } catch (error) {
      if (batch.size > 1) {
        await Promise.all([...batch].map((entry) => this.writeAcks(new Map([entry]))));
      } else {
        for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
      }
      return;
    }
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
  }
}
