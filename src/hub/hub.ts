import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { channels, type Bus } from './bus/bus.ts';
import { createMemoryBus } from './bus/memory-bus.ts';
import { createRedisBus } from './bus/redis-bus.ts';
import { describeRedis, describeUrl, type HubConfig } from './config.ts';
import type { Database } from './db/database.ts';
import { migrate } from './db/migrate.ts';
import { openDatabase } from './db/open.ts';
import { createOperationsServer, createPublicServer } from './http/server.ts';
import type { Logger } from './log.ts';
import { HubMetrics } from './metrics.ts';
import { migrations } from './migrations/index.ts';
import { StandbyWatch } from './standby.ts';
import { Presence } from './presence/presence.ts';
import { createRedisPresenceStore } from './presence/redis-store.ts';
import { createMemoryPresenceStore, type PresenceStore } from './presence/store.ts';
import { createMemoryBucketStore, createRedisBucketStore, RateLimiter, type BucketStore } from './rate-limit.ts';
import { Accounts } from './services/accounts.ts';
import { pruneIdempotencyKeys } from './services/idempotency.ts';
import { KeyCache } from './services/key-cache.ts';
import { Memory } from './services/memory.ts';
import { Messages } from './services/messages.ts';
import type { Services } from './services/services.ts';
import { Tasks } from './services/tasks.ts';
import { AgentGateway } from './ws/server.ts';

const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;
const HOUSEKEEPING_INTERVAL_MS = 60_000;
/** Keys a replica holds in its cache: more than the keys of any fleet that reconnects at once. */
const KEY_CACHE_ENTRIES = 10_000;

export interface Hub {
  readonly services: Services;
  /** The public port actually bound (useful with HUB_PORT=0). */
  readonly port: number;
  /** The operations port actually bound (useful with HUB_ADMIN_PORT=0). */
  readonly adminPort: number;
  /** The public listener: `/ws`, `/api/health`, `/api/ready`. */
  readonly httpUrl: string;
  readonly wsUrl: string;
  /** The operations listener: `/metrics`, `/api/admin/…`, `/api/health`, `/api/ready`. */
  readonly adminUrl: string;
  /** Agents connected to this replica. */
  connections(): number;
  /** Graceful shutdown: not ready, refuse connections, drain sessions, flush, close. Idempotent. */
  shutdown(reason: string): Promise<void>;
}

export function describeMode(config: HubConfig): string {
  if (config.mode === 'embedded') {
    return `hub starting in embedded mode: PGlite database in ${config.dataDir} and an in-process bus (one replica only; set DATABASE_URL and REDIS_URL or REDIS_SENTINELS for server mode)`;
  }
  return `hub starting in server mode: Postgres at ${describeUrl(config.databaseUrl!)}, Redis at ${describeRedis(config.redis!)}`;
}

/** The bus and the state replicas share through it: rosters and rate limit buckets. */
async function openBus(
  config: HubConfig,
  log: Logger,
): Promise<{ bus: Bus; store: PresenceStore; buckets: BucketStore; prune: () => void }> {
  if (config.redis === undefined) {
    const buckets = createMemoryBucketStore();
    return { bus: createMemoryBus(log), store: createMemoryPresenceStore(), buckets, prune: () => buckets.prune() };
  }
  const bus = createRedisBus(config.redis, log);
  return {
    bus,
    store: createRedisPresenceStore(bus.commands, config.presenceTtlMs),
    buckets: createRedisBucketStore(bus.commands),
    prune: () => undefined,
  };
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Evicts the keys other replicas revoke. The bus subscribes the channel once Redis answers, also when
 * it does not at start; a revocation announced while the bus was down is lost, so the whole cache
 * goes when it is back.
 */
function watchRevocations(bus: Bus, accounts: Accounts): void {
  bus
    .subscribe(channels.revokedKeys, (message) => accounts.forgetKey((message as { keyId: string }).keyId))
    .catch(() => undefined);
  bus.onRestored(() => accounts.forgetAllKeys());
}

const loopbackFor = (host: string) => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);

export async function startHub(config: HubConfig, log: Logger): Promise<Hub> {
  log.info({ mode: config.mode }, describeMode(config));
  const metrics = new HubMetrics(config.replicaId);
  const db: Database = await openDatabase(config, log);
  if (db.poolStats) metrics.watchDatabasePool(db.poolStats);
  const standby = new StandbyWatch(db, {
    log,
    inRecoveryGauge: metrics.databaseInRecovery,
    pollMs: config.standbyPollMs,
    heartbeat: { everyMs: config.walHeartbeatMs, replicaId: config.replicaId },
    async prepare() {
      if (!config.migrateOnStart) return;
      const report = await migrate(db, migrations);
      log.info({ applied: report.applied, schemaVersion: report.current }, 'database schema is current');
    },
  });
  await standby.start();
  const { bus, store, buckets, prune } = await openBus(config, log);
  const presence = new Presence(store, bus, config.presenceTtlMs, log, config.presenceBatchMs);
  // The revocation is committed whether or not the others hear of it: their cache's TTL bounds it.
  const accounts = new Accounts(db, new KeyCache(config.keyCacheTtlMs, KEY_CACHE_ENTRIES), (keyId) =>
    bus
      .publish(channels.revokedKeys, { keyId })
      .catch((error: unknown) => log.warn({ err: error, keyId }, 'could not tell the other replicas of a revoked key')),
  );
  watchRevocations(bus, accounts);
  const services: Services = {
    config,
    log,
    metrics,
    db,
    bus,
    presence,
    accounts,
    messages: new Messages(db, bus),
    memory: new Memory(db),
    tasks: new Tasks(
      db,
      bus,
      presence,
      { timeoutMs: config.taskTimeoutMs, maxAttempts: config.taskMaxAttempts },
      metrics,
      log,
    ),
    rateLimiter: new RateLimiter(buckets, config.rateLimits, config.limits),
  };

  let draining = false;
  const readiness = { draining: () => draining, primary: () => standby.notReadyReason };
  const server = createPublicServer(services, readiness);
  const operations = createOperationsServer(services, readiness);
  const gateway = new AgentGateway(server, services, () => standby.notReadyReason === undefined);
  // PGlite is never a standby. Sessions on a demoted database would fail every write: they are drained
  // as on shutdown (requests in hand answered, then close 1012), so agents reconnect to a ready replica,
  // in the region whose database is now the primary.
  if (db.kind === 'postgres') standby.watch(() => gateway.drainSessions('database demoted: reconnect'));
  const port = await listen(server, config.port, config.host);
  const adminPort = await listen(operations, config.adminPort, config.adminHost);

  // A sweep slower than the interval skips the ticks it overlaps instead of queueing them.
  let sweeping: Promise<void> | undefined;
  // Both write, which a database in recovery refuses.
  const writable = () => standby.notReadyReason === undefined;
  const sweeper = setInterval(() => {
    if (!writable()) return;
    sweeping ??= services.tasks
      .sweep()
      .catch((error: unknown) => log.warn({ err: error }, 'task sweep failed'))
      .finally(() => (sweeping = undefined));
  }, config.sweepIntervalMs);
  const housekeeping = setInterval(() => {
    prune();
    if (!writable()) return;
    pruneIdempotencyKeys(db, IDEMPOTENCY_RETENTION_MS).catch((error: unknown) =>
      log.warn({ err: error }, 'pruning idempotency keys failed'),
    );
  }, HOUSEKEEPING_INTERVAL_MS);

  log.info(
    { port, host: config.host, adminPort, adminHost: config.adminHost },
    `hub listening on http://${config.host}:${port} (WebSocket path /ws), operations on http://${config.adminHost}:${adminPort}`,
  );

  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      const deadline = Date.now() + config.shutdownGraceMs;
      draining = true;
      await standby.stop();
      log.info({ reason, connections: gateway.connections }, 'hub draining: not ready, refusing new connections');
      gateway.refuseNewConnections();
      await new Promise((resolve) => setTimeout(resolve, Math.min(config.drainDelayMs, config.shutdownGraceMs / 2)));
      await gateway.drain();
      await gateway.closeAll(deadline);
      clearInterval(sweeper);
      clearInterval(housekeeping);
      await sweeping;
      await Promise.all(
        [server, operations].map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      );
      await presence.close();
      await bus.close();
      await db.close();
      log.info({ reason }, 'hub stopped');
    })();
    return stopping;
  };

  const host = loopbackFor(config.host);
  return {
    services,
    port,
    adminPort,
    httpUrl: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}/ws`,
    adminUrl: `http://${loopbackFor(config.adminHost)}:${adminPort}`,
    connections: () => gateway.connections,
    shutdown,
  };
}
