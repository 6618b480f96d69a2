import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Bounds of `hub_request_duration_seconds`; the latency SLO's burn-rate alerts need one at the SLO. */
export const REQUEST_DURATION_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.3, 0.5, 1, 2.5, 5,
];

/** What the Postgres pool reports about itself (pg.Pool's counters). */
export interface DatabasePoolStats {
  readonly max: number;
  readonly total: number;
  readonly waiting: number;
}

/** The hub's Prometheus metrics, one registry per hub so several hubs can share a process in tests. */
export class HubMetrics {
  readonly registry = new Registry();

  /** The HorizontalPodAutoscaler scales on this gauge. */
  readonly connectedAgents = new Gauge({
    name: 'hub_connected_agents',
    help: 'Agents with an authenticated WebSocket session on this replica',
    registers: [this.registry],
  });
  readonly messages = new Counter({
    name: 'hub_messages_total',
    help: 'Messages accepted, by kind (dm, broadcast)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly dmDeliveries = new Counter({
    name: 'hub_dm_deliveries_total',
    help: 'Direct messages written to recipient sockets on this replica (redeliveries included)',
    registers: [this.registry],
  });
  readonly tasks = new Counter({
    name: 'hub_tasks_total',
    help: 'Task lifecycle events, by event (submitted, assigned, claimed, completed, failed, timed_out)',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: 'hub_request_duration_seconds',
    help: 'Time to answer an agent request, by request type and outcome',
    labelNames: ['type', 'outcome'] as const,
    buckets: [...REQUEST_DURATION_BUCKETS],
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'hub_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route and status code',
    labelNames: ['route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly protocolErrors = new Counter({
    name: 'hub_protocol_errors_total',
    help: 'Error replies to agents, by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  /** Anything that failed inside the hub rather than because of its input; should stay at 0. */
  readonly internalErrors = new Counter({
    name: 'hub_internal_errors_total',
    help: 'Failures inside the hub, by where they surfaced (request, http, process)',
    labelNames: ['where'] as const,
    registers: [this.registry],
  });
  readonly connectionsRefused = new Counter({
    name: 'hub_connections_refused_total',
    help: 'Connections refused or closed by a limit, by rule',
    labelNames: ['rule'] as const,
    registers: [this.registry],
  });
  readonly outboundBytes = new Gauge({
    name: 'hub_outbound_buffered_bytes',
    help: 'Bytes written to agent sockets and not yet taken by the kernel, all sessions together',
    registers: [this.registry],
  });

  readonly databaseInRecovery = new Gauge({
    name: 'hub_database_in_recovery',
    help: '1 while the database is in recovery (a hot standby, or a demoted primary) and the hub is not ready, else 0',
    registers: [this.registry],
  });

  // Read from the pool at each scrape; 0 with the embedded database, which has no pool.
  private poolStats: (() => DatabasePoolStats) | undefined;
  readonly databasePoolConnections = this.poolGauge(
    'hub_database_pool_connections',
    'Postgres connections the pool holds, busy or idle',
    (s) => s.total,
  );
  readonly databasePoolMax = this.poolGauge(
    'hub_database_pool_max_connections',
    'Postgres connections the pool may open (HUB_DB_POOL_SIZE)',
    (s) => s.max,
  );
  readonly databasePoolWaiting = this.poolGauge(
    'hub_database_pool_waiting_queries',
    'Queries waiting for a free Postgres connection of the pool',
    (s) => s.waiting,
  );

  /** Exports the pool's counters from now on. */
  watchDatabasePool(stats: () => DatabasePoolStats): void {
    this.poolStats = stats;
  }

  private poolGauge(name: string, help: string, read: (s: DatabasePoolStats) => number): Gauge {
    const stats = () => this.poolStats?.();
    return new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        const current = stats();
        if (current) this.set(read(current));
      },
    });
  }

  constructor(replicaId: string) {
    this.registry.setDefaultLabels({ replica: replicaId });
    collectDefaultMetrics({ register: this.registry, prefix: 'hub_' });
  }
}
