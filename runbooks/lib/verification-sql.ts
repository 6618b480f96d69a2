/*
 * The SQL every restore target runs against the restored database: positions, per-row checksums
 * and server timestamps of the drill's writes, and a checksum of the bulk data. The local target
 * runs it with pg; the k8s and vm targets run the same text with psql.
 */
import type pg from 'pg';
import type { RestoredRow } from './verify.ts';

const sha = (column: string) => `encode(sha256(convert_to(${column}, 'UTF8')), 'hex')`;

/** psql flags for running one query and reading its rows unadorned; the query follows. */
export const PSQL_QUERY_FLAGS = ['--no-psqlrc', '--tuples-only', '--no-align', '--set', 'ON_ERROR_STOP=1', '--command'];

export const VERIFICATION_SQL = {
  /** DMs queued for the drill's recipient ($1). */
  dms: `SELECT seq AS n, ${sha('body')} AS sha256, extract(epoch FROM created_at) * 1000 AS at_ms
FROM messages WHERE recipient_id = $1 ORDER BY seq`,
  heartbeats: `SELECT n, ${sha('payload')} AS sha256, extract(epoch FROM at) * 1000 AS at_ms
FROM drill_heartbeat ORDER BY n`,
  /** Row count and an order-independent 64-bit digest of the bulk table. */
  bulk: `SELECT count(*)::bigint AS rows, coalesce(bit_xor(hashtextextended(payload, id)), 0)::text AS checksum
FROM drill_bulk`,
  /** Newest write restored: the recovery point of a restore without a ledger (k8s and vm targets). */
  recoveryPoint: 'SELECT max(created_at) FROM messages',
} as const;

/**
 * A summary to compare between a restore and its source without a ledger (k8s and vm targets): the
 * DMs (rows never change once written) up to the recovery point, counted and digested in order.
 */
export function summarySql(cutoff: string): string {
  const literal = `'${cutoff.replace(/'/g, "''")}'`;
  return `SELECT count(*) AS rows, max(created_at) AS newest,
  md5(string_agg(recipient_id || ':' || seq || ':' || md5(body), ',' ORDER BY recipient_id, seq)) AS checksum
FROM messages WHERE created_at <= ${literal}::timestamptz`;
}

export interface BulkDigest {
  readonly rows: number;
  readonly checksum: string;
}

interface Row {
  n: string;
  sha256: string;
  at_ms: string;
}

const toRows = (stream: RestoredRow['stream'], rows: Row[]): RestoredRow[] =>
  rows.map((r) => ({ stream, n: Number(r.n), sha256: r.sha256, serverAtMs: Number(r.at_ms) }));

export async function readRestoredRows(db: pg.ClientBase, recipientId: string): Promise<RestoredRow[]> {
  const dms = await db.query<Row>(VERIFICATION_SQL.dms, [recipientId]);
  const heartbeats = await db.query<Row>(VERIFICATION_SQL.heartbeats);
  return [...toRows('dm', dms.rows), ...toRows('heartbeat', heartbeats.rows)];
}

export async function bulkDigest(db: pg.ClientBase): Promise<BulkDigest> {
  const { rows } = await db.query<{ rows: string; checksum: string }>(VERIFICATION_SQL.bulk);
  return { rows: Number(rows[0]!.rows), checksum: rows[0]!.checksum };
}
