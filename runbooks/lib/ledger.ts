/*
 * What the workload's clients saw acknowledged. A write enters the ledger only once its
 * acknowledgement arrived, so after a restore the ledger says exactly what must be there.
 */
import { createHash } from 'node:crypto';

/** DMs are written through the hub; heartbeats are rows the drill writes every 100 ms. */
export const STREAMS = ['dm', 'heartbeat'] as const;
export type Stream = (typeof STREAMS)[number];

export interface LedgerEntry {
  readonly stream: Stream;
  /** Position in its stream, gapless from 1: the DM's seq, or the heartbeat's number. */
  readonly n: number;
  /** sha256 of the stored text (DM body JSON, heartbeat payload). */
  readonly sha256: string;
  /** The server's timestamp of the write (epoch ms). */
  readonly serverAtMs: number;
  /** When the client received the acknowledgement (epoch ms, the same clock on loopback). */
  readonly ackedAtMs: number;
}

export const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** One digest over a stream's entries in order: equal digests mean equal contents. */
export const streamChecksum = (entries: readonly { n: number; sha256: string }[]): string =>
  sha256(entries.map((e) => `${e.n}:${e.sha256}`).join('\n'));

export class Ledger {
  private readonly entries: LedgerEntry[] = [];

  record(entry: LedgerEntry): void {
    this.entries.push(entry);
  }

  get size(): number {
    return this.entries.length;
  }

  /** Entries of one stream in stream order. */
  stream(stream: Stream): LedgerEntry[] {
    return this.entries.filter((e) => e.stream === stream).sort((a, b) => a.n - b.n);
  }

  all(): readonly LedgerEntry[] {
    return this.entries;
  }

  lastAckedAtMs(): number | undefined {
    return this.entries.reduce<number | undefined>(
      (max, e) => (max === undefined || e.ackedAtMs > max ? e.ackedAtMs : max),
      undefined,
    );
  }
}
