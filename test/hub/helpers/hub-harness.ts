/*
 * Shared set-up of the hub tests: the backing services of a mode (real Postgres and Redis, or a
 * PGlite directory), hubs started in-process on free ports, the admin API and connected clients.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres, startRedis } from '../../../scripts/lib/local-services.ts';
import { HubClient, type HubClientOptions } from '../../../src/hub/client/client.ts';
import { loadConfig, type HubConfig } from '../../../src/hub/config.ts';
import { startHub, type Hub } from '../../../src/hub/hub.ts';
import { createLogger } from '../../../src/hub/log.ts';

export type Mode = 'embedded' | 'server';
export const MODES: readonly Mode[] = ['embedded', 'server'];
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123';

export interface Backing {
  readonly mode: Mode;
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startBacking(mode: Mode): Promise<Backing> {
  if (mode === 'embedded') {
    const dir = mkdtempSync(join(tmpdir(), 'rf-hub-pglite-'));
    return {
      mode,
      env: { HUB_DATA_DIR: dir },
      stop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  return {
    mode,
    env: { DATABASE_URL: postgres.url, REDIS_URL: redis.url },
    stop: async () => {
      await Promise.all([postgres.stop(), redis.stop()]);
    },
  };
}

let replicaCounter = 0;

export function hubConfig(
  backing: Backing,
  env: Record<string, string> = {},
  overrides: Partial<HubConfig> = {},
): HubConfig {
  return {
    ...loadConfig({
      HUB_PORT: '0',
      HUB_ADMIN_PORT: '0',
      HUB_ADMIN_TOKEN: ADMIN_TOKEN,
      // Every test provisions through the admin API and fails authentications on purpose from one
      // address; the tests of these limits set them low themselves.
      HUB_ADMIN_REQUESTS_PER_MIN: '1000000',
      HUB_AUTH_FAILURES_PER_MIN: '1000000',
      HUB_REPLICA_ID: `test-${process.pid}-${++replicaCounter}`,
      LOG_LEVEL: process.env.HUB_TEST_LOG_LEVEL ?? 'silent',
      ...backing.env,
      ...env,
    }),
    ...overrides,
  };
}

export async function startTestHub(backing: Backing, env: Record<string, string> = {}): Promise<Hub> {
  const config = hubConfig(backing, env);
  return startHub(config, createLogger(config.logLevel, { replica: config.replicaId }));
}

/** The admin REST API as the tests use it; throws on unexpected statuses with the server's message. */
export class Admin {
  constructor(
    readonly baseUrl: string,
    private readonly token = ADMIN_TOKEN,
  ) {}

  async call(
    method: string,
    path: string,
    body?: unknown,
    token: string | null = this.token,
  ): Promise<{ status: number; body: any }> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  }

  private async expect(status: number, method: string, path: string, body?: unknown): Promise<any> {
    const result = await this.call(method, path, body);
    if (result.status !== status) throw new Error(`${method} ${path}: ${result.status} ${JSON.stringify(result.body)}`);
    return result.body;
  }

  createTenant(name: string): Promise<{ id: string }> {
    return this.expect(201, 'POST', '/api/admin/tenants', { name });
  }

  createFleet(tenantId: string, name: string): Promise<{ id: string }> {
    return this.expect(201, 'POST', `/api/admin/tenants/${tenantId}/fleets`, { name });
  }

  createKey(tenantId: string, fleetId: string): Promise<{ id: string; key: string }> {
    return this.expect(201, 'POST', `/api/admin/tenants/${tenantId}/fleets/${fleetId}/api-keys`, {});
  }

  listAgents(tenantId: string): Promise<{ agents: any[] }> {
    return this.expect(200, 'GET', `/api/admin/tenants/${tenantId}/agents`);
  }

  /** A new tenant with one fleet and an API key for it. */
  async provision(
    tenantName: string,
    fleetName = 'default',
  ): Promise<{ tenantId: string; fleetId: string; key: string }> {
    const tenant = await this.createTenant(tenantName);
    const fleet = await this.createFleet(tenant.id, fleetName);
    const key = await this.createKey(tenant.id, fleet.id);
    return { tenantId: tenant.id, fleetId: fleet.id, key: key.key };
  }
}

const openClients = new Set<HubClient>();

/** Connects an agent; `onCreate` attaches listeners before the backlog can arrive. */
export async function connectAgent(
  urls: string | readonly string[],
  apiKey: string,
  name: string,
  { onCreate, ...options }: Partial<HubClientOptions> & { onCreate?: (client: HubClient) => void } = {},
): Promise<HubClient> {
  const client = new HubClient({
    urls: typeof urls === 'string' ? [urls] : urls,
    apiKey,
    agent: { name, ...options.agent },
    backoff: { initialMs: 20, maxMs: 200 },
    maxReconnectAttempts: 200,
    ...options,
  });
  openClients.add(client);
  client.once('closed', () => openClients.delete(client));
  onCreate?.(client);
  await client.connect();
  return client;
}

export function closeAllClients(): void {
  for (const client of openClients) client.close();
  openClients.clear();
}

/** The next pushed event of a kind that satisfies the predicate. */
export function nextEvent<T = any>(
  client: HubClient,
  event: string,
  predicate: (payload: T) => boolean = () => true,
  timeoutMs = 5_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('event', listener);
      reject(new Error(`no ${event} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (name: string, payload: unknown) => {
      if (name !== event || !predicate(payload as T)) return;
      clearTimeout(timer);
      client.off('event', listener);
      resolve(payload as T);
    };
    client.on('event', listener);
  });
}

/** Collects every DM the application sees. */
export function collectDms(client: HubClient): { seqs: number[]; bodies: unknown[] } {
  const seen = { seqs: [] as number[], bodies: [] as unknown[] };
  client.on('dm', (m) => {
    seen.seqs.push(m.seq);
    seen.bodies.push(m.body);
  });
  return seen;
}

/** Polls until the check passes or the time is up, then runs it once more to surface its failure. */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      await check();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  await check();
}

/** Rejects with the hub's error code, e.g. `await rejectsWith(p, 'not_found')`. */
export async function errorCode(promise: Promise<unknown>): Promise<{ code: string; rule?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { code?: string; rule?: string; message: string };
    if (typeof e.code === 'string') return { code: e.code, rule: e.rule, message: e.message };
    throw error;
  }
  throw new Error('expected the request to fail, but it succeeded');
}
