import type { Database } from '../db/database.ts';
import { newId } from '../ids.ts';
import { HubError, notFound } from '../protocol/errors.ts';
import { limitExceeded } from '../protocol/limits.ts';
import { generateApiKey, hashApiKey, hashesEqual, looksLikeApiKey } from './api-keys.ts';
import type { KeyCache } from './key-cache.ts';

export interface Tenant {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
}
export interface Fleet {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  readonly createdAt: string;
}
export interface AgentRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly fleetId: string;
  readonly name: string;
  readonly capabilities: string[];
  readonly tags: string[];
  readonly lastSeenAt: string;
}
export interface KeyScope {
  readonly keyId: string;
  readonly tenantId: string;
  readonly fleetId: string;
}

const iso = (d: Date | string) => new Date(d).toISOString();

function uniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}

/** Tenants, fleets, API keys and agent records: the admin API's data and agent authentication. */
export class Accounts {
  constructor(
    private readonly db: Database,
    private readonly keys: KeyCache,
    /** Tells the other replicas to forget a revoked key. */
    private readonly announceRevoked: (keyId: string) => Promise<void>,
  ) {}

  async createTenant(name: string): Promise<Tenant> {
    try {
      const [row] = await this.db.query<{ id: string; name: string; created_at: Date }>(
        'INSERT INTO tenants (id, name) VALUES ($1, $2) RETURNING id, name, created_at',
        [newId('ten'), name],
      );
      return { id: row!.id, name: row!.name, createdAt: iso(row!.created_at) };
    } catch (error) {
      if (uniqueViolation(error)) throw new HubError('conflict', `a tenant named ${JSON.stringify(name)} exists`);
      throw error;
    }
  }

  async listTenants(): Promise<Tenant[]> {
    const rows = await this.db.query<{ id: string; name: string; created_at: Date }>(
      'SELECT id, name, created_at FROM tenants ORDER BY created_at, id',
    );
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: iso(r.created_at) }));
  }

  async requireTenant(tenantId: string): Promise<void> {
    const rows = await this.db.query('SELECT 1 FROM tenants WHERE id = $1', [tenantId]);
    if (rows.length === 0) throw notFound(`tenant ${tenantId}`);
  }

  async createFleet(tenantId: string, name: string): Promise<Fleet> {
    await this.requireTenant(tenantId);
    try {
      const [row] = await this.db.query<{ id: string; name: string; created_at: Date }>(
        'INSERT INTO fleets (id, tenant_id, name) VALUES ($1, $2, $3) RETURNING id, name, created_at',
        [newId('flt'), tenantId, name],
      );
      return { id: row!.id, tenantId, name: row!.name, createdAt: iso(row!.created_at) };
    } catch (error) {
      if (uniqueViolation(error))
        throw new HubError('conflict', `tenant ${tenantId} has a fleet named ${JSON.stringify(name)}`);
      throw error;
    }
  }

  async listFleets(tenantId: string): Promise<Fleet[]> {
    await this.requireTenant(tenantId);
    const rows = await this.db.query<{ id: string; name: string; created_at: Date }>(
      'SELECT id, name, created_at FROM fleets WHERE tenant_id = $1 ORDER BY created_at, id',
      [tenantId],
    );
    return rows.map((r) => ({ id: r.id, tenantId, name: r.name, createdAt: iso(r.created_at) }));
  }

  /** A fleet of this tenant; a fleet of another tenant is reported exactly like a missing one. */
  async requireFleet(tenantId: string, fleetId: string): Promise<void> {
    const rows = await this.db.query('SELECT 1 FROM fleets WHERE id = $1 AND tenant_id = $2', [fleetId, tenantId]);
    if (rows.length === 0) throw notFound(`fleet ${fleetId} of tenant ${tenantId}`);
  }

  /** Creates a key and returns it in clear text, the only time it is ever available. */
  async createApiKey(tenantId: string, fleetId: string, label: string): Promise<{ id: string; key: string }> {
    await this.requireFleet(tenantId, fleetId);
    const key = generateApiKey();
    const id = newId('key');
    await this.db.query('INSERT INTO api_keys (id, tenant_id, fleet_id, key_hash, label) VALUES ($1, $2, $3, $4, $5)', [
      id,
      tenantId,
      fleetId,
      hashApiKey(key),
      label,
    ]);
    return { id, key };
  }

  async revokeApiKey(tenantId: string, keyId: string): Promise<void> {
    const rows = await this.db.query(
      'UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND tenant_id = $2 RETURNING id',
      [keyId, tenantId],
    );
    if (rows.length === 0) throw notFound(`API key ${keyId} of tenant ${tenantId}`);
    this.keys.forgetKey(keyId);
    await this.announceRevoked(keyId);
  }

  /** Drops a key another replica revoked. */
  forgetKey(keyId: string): void {
    this.keys.forgetKey(keyId);
  }

  /** Drops every cached key: revocations announced while the bus was down never arrived. */
  forgetAllKeys(): void {
    this.keys.clear();
  }

  /** The tenant and fleet an API key grants, or `unauthorized` with the same message for every failure. */
  async authenticate(apiKey: string): Promise<KeyScope> {
    const denied = new HubError('unauthorized', 'the API key is unknown, malformed or revoked');
    if (!looksLikeApiKey(apiKey)) throw denied;
    const hash = hashApiKey(apiKey);
    const cached = this.keys.get(hash);
    if (cached !== undefined) return cached;
    const generation = this.keys.generation;
    const [row] = await this.db.query<{ id: string; tenant_id: string; fleet_id: string; key_hash: Uint8Array }>(
      'SELECT id, tenant_id, fleet_id, key_hash FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL',
      [hash],
    );
    if (row === undefined || !hashesEqual(Buffer.from(row.key_hash), hash)) throw denied;
    const scope = { keyId: row.id, tenantId: row.tenant_id, fleetId: row.fleet_id };
    this.keys.set(hash, scope, generation);
    return scope;
  }

  /**
   * Finds or creates the agent named `name` in the fleet; an agent's identity is its name within its
   * fleet. A new name counts against the key's `maxAgents`, so a key cannot mint fresh agents (and
   * with them fresh per-agent rate buckets) without bound.
   */
  async upsertAgent(
    scope: KeyScope,
    name: string,
    capabilities: readonly string[],
    tags: readonly string[],
    maxAgents: number,
  ): Promise<{ id: string; dmSeq: number; ackedSeq: number }> {
    type Row = { id: string; dm_seq: string | number; acked_seq: string | number };
    const record = (row: Row) => ({ id: row.id, dmSeq: Number(row.dm_seq), ackedSeq: Number(row.acked_seq) });
    const params = [JSON.stringify(capabilities), JSON.stringify(tags), scope.fleetId, name];
    const [known] = await this.db.query<Row>(
      `UPDATE agents SET capabilities = $1, tags = $2, last_seen_at = now() WHERE fleet_id = $3 AND name = $4
       RETURNING id, dm_seq, acked_seq`,
      params,
    );
    if (known !== undefined) return record(known);
    return this.db.transaction(async (tx) => {
      const counted = await tx.query(
        'UPDATE api_keys SET agents_created = agents_created + 1 WHERE id = $1 AND agents_created < $2 RETURNING id',
        [scope.keyId, maxAgents],
      );
      if (counted.length === 0) {
        throw limitExceeded('agents_per_key', 'payload.agent.name', `this key has created ${maxAgents} agents`);
      }
      // A concurrent hello may have created the same name meanwhile; then it is that agent, and uncounted.
      const [row] = await tx.query<Row & { created: boolean }>(
        `INSERT INTO agents (id, tenant_id, fleet_id, name, capabilities, tags) VALUES ($5, $6, $3, $4, $1, $2)
         ON CONFLICT (fleet_id, name) DO UPDATE
           SET capabilities = EXCLUDED.capabilities, tags = EXCLUDED.tags, last_seen_at = now()
         RETURNING id, dm_seq, acked_seq, (xmax = 0) AS created`,
        [...params, newId('ag'), scope.tenantId],
      );
      if (!row!.created) {
        await tx.query('UPDATE api_keys SET agents_created = agents_created - 1 WHERE id = $1', [scope.keyId]);
      }
      return record(row!);
    });
  }

  async touchAgents(agentIds: readonly string[]): Promise<void> {
    if (agentIds.length === 0) return;
    // Locked in id order, as the batched acknowledgements lock them: neither waits on the other in a cycle.
    await this.db.query(
      `UPDATE agents SET last_seen_at = now()
       WHERE id IN (SELECT id FROM agents WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE)`,
      [agentIds],
    );
  }

  async listAgents(tenantId: string, fleetId?: string): Promise<AgentRecord[]> {
    if (fleetId === undefined) await this.requireTenant(tenantId);
    else await this.requireFleet(tenantId, fleetId);
    const rows = await this.db.query<{
      id: string;
      fleet_id: string;
      name: string;
      capabilities: string;
      tags: string;
      last_seen_at: Date;
    }>(
      `SELECT id, fleet_id, name, capabilities, tags, last_seen_at FROM agents
       WHERE tenant_id = $1 AND ($2::text IS NULL OR fleet_id = $2) ORDER BY fleet_id, name`,
      [tenantId, fleetId ?? null],
    );
    return rows.map((r) => ({
      id: r.id,
      tenantId,
      fleetId: r.fleet_id,
      name: r.name,
      capabilities: JSON.parse(r.capabilities) as string[],
      tags: JSON.parse(r.tags) as string[],
      lastSeenAt: iso(r.last_seen_at),
    }));
  }
}
