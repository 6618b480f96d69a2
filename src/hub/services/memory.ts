import type { Database } from '../db/database.ts';
import { HubError, notFound } from '../protocol/errors.ts';
import { mutate } from './idempotency.ts';

export interface Writer {
  readonly agentId: string;
  readonly tenantId: string;
  readonly fleetId: string;
}

export interface MemoryEntry {
  readonly key: string;
  readonly value: unknown;
  readonly version: number;
  readonly updatedBy: string;
  readonly updatedAt: string;
}

export type MemoryListing = Omit<MemoryEntry, 'value'> & { readonly bytes: number };

interface Row {
  key: string;
  value: string;
  version: string | number;
  updated_by: string;
  updated_at: Date;
}

const entry = (r: Row): MemoryEntry => ({
  key: r.key,
  value: JSON.parse(r.value) as unknown,
  version: Number(r.version),
  updatedBy: r.updated_by,
  updatedAt: new Date(r.updated_at).toISOString(),
});

/** Key-value memory shared by the agents of one fleet; every query is bounded by fleet and tenant. */
export class Memory {
  constructor(private readonly db: Database) {}

  /** Writes a value; `ifVersion` makes it a compare-and-set (0: only if the key does not exist yet). */
  async set(
    writer: Writer,
    key: string,
    valueJson: string,
    ifVersion: number | undefined,
    idempotencyKey?: string,
  ): Promise<{ key: string; version: number }> {
    const { result } = await mutate(this.db, writer.agentId, idempotencyKey, 'memory.set', async (tx) => {
      const [row] = await tx.query<{ version: string | number }>(
        `INSERT INTO memory (fleet_id, key, tenant_id, value, updated_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (fleet_id, key) DO UPDATE
           SET value = EXCLUDED.value, version = memory.version + 1, updated_by = EXCLUDED.updated_by, updated_at = now()
           WHERE memory.tenant_id = EXCLUDED.tenant_id AND ($6::bigint IS NULL OR memory.version = $6)
         RETURNING version`,
        [writer.fleetId, key, writer.tenantId, valueJson, writer.agentId, ifVersion ?? null],
      );
      if (row === undefined) {
        throw new HubError('conflict', `payload.ifVersion: key ${JSON.stringify(key)} is not at version ${ifVersion}`);
      }
      return { key, version: Number(row.version) };
    });
    return result;
  }

  async get(reader: Writer, key: string): Promise<MemoryEntry> {
    const [row] = await this.db.query<Row>(
      'SELECT key, value, version, updated_by, updated_at FROM memory WHERE fleet_id = $1 AND tenant_id = $2 AND key = $3',
      [reader.fleetId, reader.tenantId, key],
    );
    if (row === undefined) throw notFound(`memory key ${JSON.stringify(key)}`);
    return entry(row);
  }

  /** Keys starting with `prefix` in key order, after the `after` cursor; values are fetched with get. */
  async list(
    reader: Writer,
    prefix: string,
    after: string | undefined,
    limit: number,
  ): Promise<{ entries: MemoryListing[]; next?: string }> {
    const rows = await this.db.query<Omit<Row, 'value'> & { bytes: number }>(
      `SELECT key, version, updated_by, updated_at, octet_length(value) AS bytes FROM memory
       WHERE fleet_id = $1 AND tenant_id = $2 AND starts_with(key, $3) AND ($4::text IS NULL OR key COLLATE "C" > $4)
       ORDER BY key COLLATE "C" LIMIT $5`,
      [reader.fleetId, reader.tenantId, prefix, after ?? null, limit + 1],
    );
    const page = rows.slice(0, limit).map((r) => ({
      key: r.key,
      version: Number(r.version),
      updatedBy: r.updated_by,
      updatedAt: new Date(r.updated_at).toISOString(),
      bytes: Number(r.bytes),
    }));
    return rows.length > limit ? { entries: page, next: page[page.length - 1]!.key } : { entries: page };
  }

  async delete(writer: Writer, key: string, idempotencyKey?: string): Promise<{ key: string; deleted: boolean }> {
    const { result } = await mutate(this.db, writer.agentId, idempotencyKey, 'memory.delete', async (tx) => {
      const rows = await tx.query(
        'DELETE FROM memory WHERE fleet_id = $1 AND tenant_id = $2 AND key = $3 RETURNING key',
        [writer.fleetId, writer.tenantId, key],
      );
      return { key, deleted: rows.length > 0 };
    });
    return result;
  }
}
