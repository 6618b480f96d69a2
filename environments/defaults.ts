import type { Tier } from './schema.ts';

/*
 * Defaults per tier, from the RingForge scaling plan (shared/seeds/000, §4) and the deployment
 * decisions (seeds 001-004). An environment file states only what differs from its tier.
 *
 * | tier | shape                       | servers (Hetzner type × count)                   | agents  |
 * |------|-----------------------------|--------------------------------------------------|---------|
 * | 0    | one server, docker compose  | single cx33 × 1                                  | ~500    |
 * | 1    | 3 hubs behind a LB          | hub cx23 × 3 (2C/4GB), postgres cpx32 × 2,       | ~5,000  |
 * |      |                             | valkey cx23 × 2                                  |         |
 * | 2    | k3s, CloudNativePG          | controlPlane cpx22 × 3, worker cpx42 × 3         | ~100k   |
 * | 3    | tier 2 in two regions       | as tier 2, per region                            | ~100k+  |
 *
 * Hub pods: requests 500m / 512Mi, limits 2 CPU / 2Gi, autoscaled on 8,000 connected agents per
 * replica (plan §4.3). Replicas: tier 0 runs one hub; tier 1 at least 2 (plan: 2-6); tiers 2-3 3-10.
 * SLOs tighten with the tier; the RPO of every tier is bounded by a 60 s archive_timeout.
 */

const hubCommon = {
  requests: { cpuMillis: 500, memoryMiB: 512 },
  limits: { cpuMillis: 2000, memoryMiB: 2048 },
  targetConnectionsPerReplica: 8000,
  drainSeconds: 25,
  port: 8080,
  adminPort: 9090,
  websocketPath: '/ws',
};

// Base backups and WAL are kept 30 days on every tier (seeds/000, backups), prod 35 (its file).
const backupCommon = {
  region: 'fsn1',
  endpoint: 'https://fsn1.your-objectstorage.com',
  retentionDays: 30,
  schedule: '0 3 * * *',
  archiveTimeoutSeconds: 60,
};

export const TIER_DEFAULTS = {
  0: {
    hub: { ...hubCommon, replicas: { min: 1, max: 1 } },
    backup: backupCommon,
    slo: {
      concurrentAgents: 500,
      connectP95Ms: 300,
      dmDeliveryP95Ms: 100,
      fanoutDeliveryP95Ms: 150,
      fanoutDeliveryP99Ms: 500,
      apiP95Ms: 300,
      maxErrorRate: 0.01,
    },
    drill: { rpoSeconds: 300, rtoSeconds: 1800 },
  },
  1: {
    hub: { ...hubCommon, replicas: { min: 2, max: 6 } },
    backup: backupCommon,
    slo: {
      concurrentAgents: 5000,
      connectP95Ms: 200,
      dmDeliveryP95Ms: 50,
      fanoutDeliveryP95Ms: 100,
      fanoutDeliveryP99Ms: 300,
      apiP95Ms: 250,
      maxErrorRate: 0.005,
    },
    drill: { rpoSeconds: 60, rtoSeconds: 600 },
  },
  2: {
    hub: { ...hubCommon, replicas: { min: 3, max: 10 } },
    backup: backupCommon,
    slo: {
      concurrentAgents: 10000,
      connectP95Ms: 150,
      dmDeliveryP95Ms: 30,
      fanoutDeliveryP95Ms: 50,
      fanoutDeliveryP99Ms: 150,
      apiP95Ms: 250,
      maxErrorRate: 0.001,
    },
    drill: { rpoSeconds: 60, rtoSeconds: 300 },
  },
  3: {
    hub: { ...hubCommon, replicas: { min: 3, max: 10 } },
    backup: backupCommon,
    slo: {
      concurrentAgents: 10000,
      connectP95Ms: 150,
      dmDeliveryP95Ms: 30,
      fanoutDeliveryP95Ms: 50,
      fanoutDeliveryP99Ms: 150,
      apiP95Ms: 250,
      maxErrorRate: 0.001,
    },
    drill: { rpoSeconds: 60, rtoSeconds: 300 },
  },
} as const satisfies Record<Tier, object>;

/** Server groups per tier, for environments on Hetzner (sizes as in the table above). */
export const SERVER_DEFAULTS = {
  0: { single: { type: 'cx33', count: 1, volumeGb: 50 } },
  1: {
    hub: { type: 'cx23', count: 3 },
    postgres: { type: 'cpx32', count: 2, volumeGb: 100 },
    valkey: { type: 'cx23', count: 2, volumeGb: 20 },
  },
  2: { controlPlane: { type: 'cpx22', count: 3 }, worker: { type: 'cpx42', count: 3 } },
  3: { controlPlane: { type: 'cpx22', count: 3 }, worker: { type: 'cpx42', count: 3 } },
} as const satisfies Record<Tier, object>;

/**
 * Load tests of environments on Hetzner: the distributed Job runs four runner pods (one handles
 * ~10k connections, the tier 2-3 SLO) through the fan-out scenario at its full profile.
 */
export const LOADTEST_DEFAULTS = {
  parallelism: 4,
  scenario: 'fanout',
  profile: 'full',
  confirm: false,
} as const;
