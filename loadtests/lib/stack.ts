/*
 * The local stack a load test runs against: real Postgres and Redis on loopback, two hub processes
 * (server mode, limits lifted: every agent comes from one address with one key) and HAProxy
 * round-robining between them, so broadcasts cross Redis. `stop()` tears it all down, bounded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHaproxy } from '../../runbooks/failover/haproxy.ts';
import {
  newAdminToken,
  provisionTenant,
  startHubProcess,
  waitReady,
  type HubProcess,
} from '../../runbooks/lib/hub-process.ts';
import { startPostgres, startRedis } from '../../scripts/lib/local-services.ts';
import { limitsLifted } from '../../src/hub/config.ts';
import { withTimeout } from './bounded.ts';

export interface Target {
  /** Where agents connect: HAProxy's `ws://127.0.0.1:<port>/ws`. */
  readonly wsUrl: string;
  /** An API key of the provisioned fleet; a secret, never printed. */
  readonly apiKey: string;
  /** The hub replicas behind the load balancer. */
  readonly replicas: readonly string[];
  /** The load balancer's public HTTP address (`http://127.0.0.1:<port>`): /api/health, /api/ready. */
  readonly httpUrl: string;
  /** Each hub's operations listener (admin API, /metrics), in the order of `replicas`. */
  readonly adminUrls: readonly string[];
  /** The admin API's bearer token; a secret, never printed. */
  readonly adminToken: string;
}

export interface LocalStack extends Target {
  stop(): Promise<void>;
}

const STEP_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;
const HUBS = 2;

export async function startLocalStack(log: (line: string) => void = () => undefined): Promise<LocalStack> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const work = mkdtempSync(join(tmpdir(), 'rf-loadtest-'));
  cleanups.push(async () => rmSync(work, { recursive: true, force: true }));
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) {
      await withTimeout(cleanup(), STOP_TIMEOUT_MS, 'stopping the stack').catch((error: unknown) =>
        log(`teardown: ${(error as Error).message}`),
      );
    }
    cleanups.length = 0;
  };
  try {
    log('stack: starting Postgres and Redis');
    const [postgres, redis] = await withTimeout(
      Promise.all([startPostgres(), startRedis()]),
      STEP_TIMEOUT_MS,
      'starting Postgres and Redis',
    );
    cleanups.push(
      () => postgres.stop(),
      () => redis.stop(),
    );
    const adminToken = newAdminToken();
    const hubs: HubProcess[] = [];
    for (let i = 1; i <= HUBS; i++) {
      const name = `loadtest-hub-${i}`;
      log(`stack: starting ${name}`);
      const hub = await startHubProcess({
        name,
        databaseUrl: postgres.url,
        redisUrl: redis.url,
        adminToken,
        env: { ...limitsLifted(), HUB_SHUTDOWN_GRACE_MS: '5000' },
        startTimeoutMs: STEP_TIMEOUT_MS,
      });
      hubs.push(hub);
      cleanups.push(async () => {
        // SIGTERM drains; a hub that does not exit in time is killed.
        const exited = hub.signal('SIGTERM');
        await withTimeout(exited, 10_000, `${name} SIGTERM`).catch(() => hub.signal('SIGKILL'));
      });
      await withTimeout(waitReady(hub.httpUrl), STEP_TIMEOUT_MS, `${name} ready`);
    }
    log('stack: starting HAProxy');
    const lb = await withTimeout(
      startHaproxy(
        work,
        hubs.map((hub) => hub.port),
      ),
      STEP_TIMEOUT_MS,
      'starting HAProxy',
    );
    cleanups.push(() => lb.stop());
    const tenancy = await withTimeout(
      provisionTenant(hubs[0]!.adminUrl, adminToken, `loadtest-${Date.now()}`),
      STEP_TIMEOUT_MS,
      'provisioning a tenant',
    );
    log(`stack: ${HUBS} hubs behind HAProxy at ${lb.wsUrl}`);
    return {
      wsUrl: lb.wsUrl,
      apiKey: tenancy.apiKey,
      replicas: hubs.map((hub) => hub.name),
      httpUrl: `http://127.0.0.1:${lb.port}`,
      adminUrls: hubs.map((hub) => hub.adminUrl),
      adminToken,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
