/*
 * Compares what a restore brought back with the ledger of acknowledged writes. The rule: every
 * write acknowledged before the recovery point is present and identical; writes acknowledged after
 * it are lost by design (counted and named, they make the RPO); with a target time, nothing written
 * after the target is present.
 */
import { STREAMS, streamChecksum, type Ledger, type LedgerEntry, type Stream } from './ledger.ts';

/** A row as the verification SQL reads it back from the restored database. */
export interface RestoredRow {
  readonly stream: Stream;
  readonly n: number;
  readonly sha256: string;
  readonly serverAtMs: number;
}

export interface StreamVerification {
  readonly stream: Stream;
  /** Writes the client saw acknowledged. */
  readonly acknowledged: number;
  readonly restored: number;
  /** Acknowledged writes present with identical contents. */
  readonly verified: number;
  /** Highest restored position; everything up to it is checked. */
  readonly restoredThrough: number;
  /** Ledger and restored digests over positions 1..restoredThrough that both hold. */
  readonly ledgerChecksum: string;
  readonly restoredChecksum: string;
  /** Acknowledged after the recovery point and not restored: positions `from`..`to`. */
  readonly lostBeyondRecoveryPoint: { readonly count: number; readonly from?: number; readonly to?: number };
  /** Restored rows the client never saw acknowledged (in flight at the disaster): allowed. */
  readonly unacknowledgedPresent: number;
}

export interface Verification {
  readonly ok: boolean;
  /** Each broken rule, one sentence each. */
  readonly failures: readonly string[];
  /** Server time of the newest restored write (ISO). */
  readonly recoveryPoint?: string;
  readonly lastAcknowledgedAt?: string;
  /** Acknowledgement time of the newest acknowledged write that was restored. */
  readonly lastRestoredAcknowledgedAt?: string;
  /** Last acknowledged write minus last restored acknowledged write. */
  readonly rpoSeconds?: number;
  readonly lostAcknowledgedWrites: number;
  readonly targetTime?: string;
  readonly streams: readonly StreamVerification[];
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const MAX_LISTED = 10;

export function verifyRestore(
  ledger: Ledger,
  restoredRows: readonly RestoredRow[],
  options: { targetTimeMs?: number } = {},
): Verification {
  const failures: string[] = [];
  const listed = (what: string, items: string[]) => {
    if (items.length === 0) return;
    const shown = items.slice(0, MAX_LISTED).join('; ');
    failures.push(`${items.length} ${what}: ${shown}${items.length > MAX_LISTED ? '; …' : ''}`);
  };
  const recoveryPointMs = restoredRows.reduce<number | undefined>(
    (max, r) => (max === undefined || r.serverAtMs > max ? r.serverAtMs : max),
    undefined,
  );
  if (recoveryPointMs === undefined) failures.push('the restored database holds none of the drill writes');

  const restoredAcked: LedgerEntry[] = [];
  const streams = STREAMS.map((stream): StreamVerification => {
    const entries = ledger.stream(stream);
    const rows = new Map(restoredRows.filter((r) => r.stream === stream).map((r) => [r.n, r]));
    const restoredThrough = Math.max(0, ...rows.keys());
    const missing: string[] = [];
    const changed: string[] = [];
    const gaps: string[] = [];
    for (let n = 1; n <= restoredThrough; n++) if (!rows.has(n)) gaps.push(`${stream} ${n}`);
    const lost: number[] = [];
    let verified = 0;
    for (const entry of entries) {
      const row = rows.get(entry.n);
      if (row === undefined) {
        const beforeRecoveryPoint = recoveryPointMs !== undefined && entry.ackedAtMs <= recoveryPointMs;
        const beforeTarget = options.targetTimeMs !== undefined && entry.ackedAtMs <= options.targetTimeMs;
        if (beforeRecoveryPoint || beforeTarget || entry.n <= restoredThrough) {
          missing.push(`${stream} ${entry.n} acknowledged at ${iso(entry.ackedAtMs)}`);
        } else lost.push(entry.n);
        continue;
      }
      if (row.sha256 !== entry.sha256) changed.push(`${stream} ${entry.n}`);
      else {
        verified++;
        restoredAcked.push(entry);
      }
    }
    listed('acknowledged writes before the recovery point are missing', missing);
    listed('restored writes differ from what was acknowledged', changed);
    listed('positions are missing inside the restored range (gaps)', gaps);
    if (options.targetTimeMs !== undefined) {
      const late = [...rows.values()]
        .filter((r) => r.serverAtMs > options.targetTimeMs!)
        .map((r) => `${stream} ${r.n} written at ${iso(r.serverAtMs)}`);
      listed(`writes after the target time ${iso(options.targetTimeMs)} are present`, late);
    }
    const acknowledgedN = new Set(entries.map((e) => e.n));
    const common = entries.filter((e) => e.n <= restoredThrough && rows.has(e.n));
    return {
      stream,
      acknowledged: entries.length,
      restored: rows.size,
      verified,
      restoredThrough,
      ledgerChecksum: streamChecksum(common),
      restoredChecksum: streamChecksum(common.map((e) => rows.get(e.n)!)),
      lostBeyondRecoveryPoint:
        lost.length === 0 ? { count: 0 } : { count: lost.length, from: lost[0], to: lost.at(-1) },
      unacknowledgedPresent: [...rows.keys()].filter((n) => !acknowledgedN.has(n)).length,
    };
  });

  const lastAcknowledgedMs = ledger.lastAckedAtMs();
  const lastRestoredMs = restoredAcked.reduce<number | undefined>(
    (max, e) => (max === undefined || e.ackedAtMs > max ? e.ackedAtMs : max),
    undefined,
  );
  const rpoSeconds =
    lastAcknowledgedMs === undefined
      ? undefined
      : Math.max(
          0,
          lastAcknowledgedMs - (lastRestoredMs ?? ledger.all().reduce((m, e) => Math.min(m, e.ackedAtMs), Infinity)),
        ) / 1000;
  return {
    ok: failures.length === 0,
    failures,
    recoveryPoint: iso(recoveryPointMs),
    lastAcknowledgedAt: iso(lastAcknowledgedMs),
    lastRestoredAcknowledgedAt: iso(lastRestoredMs),
    rpoSeconds,
    lostAcknowledgedWrites: streams.reduce((sum, s) => sum + s.lostBeyondRecoveryPoint.count, 0),
    ...(options.targetTimeMs === undefined ? {} : { targetTime: iso(options.targetTimeMs) }),
    streams,
  };
}
