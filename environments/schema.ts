import { z } from 'zod';
import { alertingSchema } from './alerting.ts';

/*
 * The schema of an environment file. One environment object drives the cdktf stacks, the cdk8s
 * charts, the load-test thresholds and the drill objectives, so every number that differs between
 * environments lives here and nowhere else. Defaults per tier are in `defaults.ts`.
 */

export const TIERS = [0, 1, 2, 3] as const;
export type Tier = (typeof TIERS)[number];

/** Hetzner Cloud locations and the network zone each belongs to. */
export const HETZNER_LOCATIONS = {
  fsn1: 'eu-central',
  nbg1: 'eu-central',
  hel1: 'eu-central',
  ash: 'us-east',
  hil: 'us-west',
  sin: 'ap-southeast',
} as const;
export type HetznerLocation = keyof typeof HETZNER_LOCATIONS;

/** Hetzner locations that offer Object Storage (S3-compatible, `https://<location>.your-objectstorage.com`). */
export const OBJECT_STORAGE_LOCATIONS = ['fsn1', 'nbg1', 'hel1'] as const;
export type ObjectStorageLocation = (typeof OBJECT_STORAGE_LOCATIONS)[number];

/** Server roles, and the roles each tier must size (see DESIGN.md §2). */
export const ROLES_BY_TIER = {
  0: ['single'],
  1: ['hub', 'postgres', 'valkey'],
  2: ['controlPlane', 'worker'],
  3: ['controlPlane', 'worker'],
} as const satisfies Record<Tier, readonly string[]>;
export const ROLES = ['single', 'hub', 'postgres', 'valkey', 'controlPlane', 'worker'] as const;
export type Role = (typeof ROLES)[number];

const slug = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/, 'must be a lowercase slug of 2-32 letters, digits and dashes');
const fqdn = z.hostname('must be a DNS name').refine((v) => v.includes('.'), 'must be a fully qualified DNS name');
const positiveInt = z.int('must be an integer').positive('must be > 0');
const seconds = positiveInt;
const ratio = z.number().min(0, 'must be >= 0').max(1, 'must be <= 1');

// Five-field cron, as CronJobs and CNPG ScheduledBackups (with a leading seconds field) accept it.
const cron = z
  .string()
  .regex(/^(\S+\s+){4}\S+$/, 'must be a five-field cron expression (minute hour day month weekday)');

const cidr = z.union([z.cidrv4(), z.cidrv6()], { error: 'must be an IPv4 or IPv6 CIDR' });
const adminCidr = cidr.refine(
  (v) => !/^(0\.0\.0\.0\/0|::\/0)$/.test(v),
  'must not be the whole internet: SSH is admitted only from admin networks',
);

export const imageSchema = z.strictObject({
  /** Registry and repository without a tag, e.g. `ghcr.io/ringforge/hub`. */
  repository: z.string().regex(/^[a-z0-9.\-/:]+$/, 'must be a registry/repository without tag'),
  /** Content digest; images are promoted between environments by digest, never by tag. */
  digest: z.string().regex(/^sha256:[a-f0-9]{64}$/, 'must be a sha256 digest (sha256:<64 hex>)'),
});

const unprivilegedPort = z
  .int('must be an integer')
  .min(1024, 'must be >= 1024 (the hub runs unprivileged)')
  .max(65535, 'must be <= 65535');

const computeSchema = z.strictObject({
  cpuMillis: positiveInt,
  memoryMiB: positiveInt,
});

export const hubSchema = z
  .strictObject({
    image: imageSchema,
    replicas: z.strictObject({ min: positiveInt, max: positiveInt }),
    requests: computeSchema,
    limits: computeSchema,
    /** Per-pod `hub_connected_agents` the autoscaler aims for (RingForge plan: 8,000). */
    targetConnectionsPerReplica: positiveInt,
    /** Seconds the hub has to drain on SIGTERM before it is killed. */
    drainSeconds: seconds,
    /** Public port: the WebSocket and the health routes, the only port proxies route to. */
    port: unprivilegedPort,
    /** Operations port: `/metrics` and the admin API, reachable only from inside (Prometheus, operators). */
    adminPort: unprivilegedPort,
    /** Path agents open their WebSocket on. */
    websocketPath: z.string().regex(/^\/[a-z0-9/_-]*$/, 'must be an absolute URL path'),
  })
  .refine((h) => h.adminPort !== h.port, {
    path: ['adminPort'],
    message: 'must differ from port: /metrics and the admin API stay off the public listener',
  })
  .refine((h) => h.replicas.max >= h.replicas.min, {
    path: ['replicas', 'max'],
    message: 'must be >= replicas.min',
  })
  .refine((h) => h.limits.cpuMillis >= h.requests.cpuMillis, {
    path: ['limits', 'cpuMillis'],
    message: 'must be >= requests.cpuMillis',
  })
  .refine((h) => h.limits.memoryMiB >= h.requests.memoryMiB, {
    path: ['limits', 'memoryMiB'],
    message: 'must be >= requests.memoryMiB',
  });

export const backupSchema = z.strictObject({
  /** Bucket of tiers 0-1; tiers 2-3 append the region (`<bucket>-<region>`), one bucket per region. */
  bucket: slug,
  /**
   * S3-compatible endpoint of tiers 0-1, e.g. Hetzner Object Storage `https://fsn1.your-objectstorage.com`.
   * Tiers 2-3 archive each region off-site instead, to its `regions[].backupLocation`.
   */
  endpoint: z.url('must be an http(s) URL'),
  region: slug,
  /** Days base backups and WAL are kept (seeds: 30, prod 35); also the buckets' default object lock. */
  retentionDays: positiveInt,
  /** When base backups run. */
  schedule: cron,
  /** Longest a WAL segment waits before it is archived; bounds the RPO of a restore. */
  archiveTimeoutSeconds: seconds,
});

/** The numbers load tests enforce as thresholds. */
export const sloSchema = z.strictObject({
  concurrentAgents: positiveInt,
  connectP95Ms: positiveInt,
  dmDeliveryP95Ms: positiveInt,
  fanoutDeliveryP95Ms: positiveInt,
  fanoutDeliveryP99Ms: positiveInt,
  apiP95Ms: positiveInt,
  maxErrorRate: ratio,
});

/** How `npm run loadtest` and its distributed Job load a deployed environment. */
export const loadtestSchema = z.strictObject({
  /** Runner pods of the Job (an Indexed Job: each pod takes 1/parallelism of the work). */
  parallelism: z.int('must be an integer').min(1, 'must be >= 1').max(50, 'must be <= 50'),
  /** The scenario the Job runs (`npm run loadtest -- --help` lists them). */
  scenario: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be a scenario name such as fanout'),
  profile: z.enum(['smoke', 'full'], { error: "must be 'smoke' or 'full'" }),
  /** Loading this environment needs `--yes` (production: real agents share it). */
  confirm: z.boolean(),
});

/** Objectives restore and failover drills must meet. */
export const drillSchema = z.strictObject({
  rpoSeconds: seconds,
  rtoSeconds: seconds,
});

const baseShape = {
  name: slug,
  tier: z.union(
    TIERS.map((t) => z.literal(t)),
    { error: 'must be one of 0, 1, 2, 3' },
  ),
  description: z.string().min(1, 'must not be empty'),
  hub: hubSchema,
  backup: backupSchema,
  slo: sloSchema,
  drill: drillSchema,
};

/** A laptop environment: the hub and its data services on loopback, for load tests and drills. */
export const laptopEnvironmentSchema = z.strictObject({
  ...baseShape,
  platform: z.literal('laptop'),
});

/** Cloudflare load-balancing geo regions. */
export const CLOUDFLARE_GEO_REGIONS = [
  'WNAM',
  'ENAM',
  'WEU',
  'EEU',
  'NSAM',
  'SSAM',
  'OC',
  'ME',
  'NAF',
  'SAF',
  'SAS',
  'SEAS',
  'NEAS',
] as const;

const regionSchema = z.strictObject({
  name: slug,
  location: z.enum(Object.keys(HETZNER_LOCATIONS) as [HetznerLocation, ...HetznerLocation[]], {
    error: `must be a Hetzner location (${Object.keys(HETZNER_LOCATIONS).join(', ')})`,
  }),
  /**
   * Cloudflare geo regions whose visitors this region serves first. Tier 3 is active/standby: every
   * geo region listed, on any region, is steered to the primary region, so a switchover moves them.
   */
  servesGeoRegions: z
    .array(
      z.enum(CLOUDFLARE_GEO_REGIONS, {
        error: `must be a Cloudflare geo region (${CLOUDFLARE_GEO_REGIONS.join(', ')})`,
      }),
    )
    .default([]),
  /**
   * Object Storage location this region's database archives to: never its own, so losing the region
   * leaves its WAL and base backups readable. @default nbg1, or fsn1 for a region in nbg1
   */
  backupLocation: z
    .enum(OBJECT_STORAGE_LOCATIONS, {
      error: `must be a Hetzner Object Storage location (${OBJECT_STORAGE_LOCATIONS.join(', ')})`,
    })
    .optional(),
});

const serverGroupSchema = z.strictObject({
  /** Hetzner server type, e.g. `cx23`, `cpx32`, `cax21`, `ccx23`. */
  type: z.string().regex(/^(cx|cpx|cax|ccx)\d{2,3}$/, 'must be a Hetzner server type such as cx23 or cpx32'),
  count: z.int('must be an integer').min(1, 'must be >= 1'),
  /** Size of the data volume attached to each server of a stateful role. */
  volumeGb: z.int('must be an integer').min(10, 'must be >= 10').max(10240, 'must be <= 10240').optional(),
});

const stateSchema = z.strictObject({
  bucket: slug,
  endpoint: z.url('must be an http(s) URL'),
  region: slug,
});

/** An environment deployed to Hetzner Cloud behind Cloudflare. */
export const hetznerEnvironmentSchema = z
  .strictObject({
    ...baseShape,
    platform: z.literal('hetzner'),
    dns: z.strictObject({
      /** Cloudflare zone the hostnames live in. */
      zone: fqdn,
      /** Public hostname agents connect to. */
      hubHostname: fqdn,
    }),
    /** Regions in order of preference. Tier 3 needs two or more. */
    regions: z.array(regionSchema).min(1, 'must list at least one region'),
    /**
     * The region whose database takes writes; the others run replica clusters of it. Changing it and
     * syncing switches the primary over (`npm run failover`). @default the first region
     */
    primaryRegion: slug.optional(),
    /** Server groups by role; a key outside ROLES (a typo, or a role the kit no longer runs) is refused. */
    servers: z.partialRecord(z.enum(ROLES), serverGroupSchema),
    adminCidrs: z.array(adminCidr).min(1, 'must list at least one admin network'),
    /** Remote state: an S3-compatible bucket with lock files. */
    state: stateSchema,
    /** Cloudflare request rules (seeds/001: /auth 10/min and /api 100/min per IP). */
    edge: z
      .strictObject({
        // WebSocket upgrades per client address: twice the hub's 200 connections per address, so a
        // whole fleet behind one NAT reconnects after a deploy (constructs/cloudflare/edge-rules.ts).
        websocketUpgradesPerMinute: positiveInt.default(400),
        apiRequestsPerMinute: positiveInt.default(100),
      })
      .default({ websocketUpgradesPerMinute: 400, apiRequestsPerMinute: 100 }),
    gitops: z.strictObject({
      repoUrl: z.url('must be a git URL'),
      revision: z.string().min(1, 'must not be empty'),
    }),
    loadtest: loadtestSchema,
    /** Alertmanager receivers and routes (environments/alerting.ts). */
    alerting: alertingSchema,
  })
  .superRefine((env, ctx) => {
    if (!env.dns.hubHostname.endsWith(`.${env.dns.zone}`)) {
      ctx.addIssue({
        code: 'custom',
        path: ['dns', 'hubHostname'],
        message: `must be inside the zone ${env.dns.zone} (got ${env.dns.hubHostname})`,
      });
    }
    if (env.tier === 3 ? env.regions.length < 2 : env.regions.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['regions'],
        message: `tier ${env.tier} needs ${env.tier === 3 ? 'at least 2 regions' : 'exactly 1 region'} (got ${env.regions.length})`,
      });
    }
    const names = env.regions.map((r) => r.name);
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) {
        ctx.addIssue({ code: 'custom', path: ['regions', i, 'name'], message: `must be unique (${n} repeats)` });
      }
    });
    const wanted: readonly Role[] = ROLES_BY_TIER[env.tier];
    for (const role of wanted) {
      if (!env.servers[role]) {
        ctx.addIssue({ code: 'custom', path: ['servers', role], message: `is required for tier ${env.tier}` });
      }
    }
    for (const role of Object.keys(env.servers) as Role[]) {
      if (!wanted.includes(role)) {
        ctx.addIssue({
          code: 'custom',
          path: ['servers', role],
          message: `is not a role of tier ${env.tier} (roles: ${wanted.join(', ')})`,
        });
      }
    }
    const controlPlanes = env.servers.controlPlane?.count;
    if (controlPlanes !== undefined && controlPlanes % 2 === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['servers', 'controlPlane', 'count'],
        message: `must be odd so embedded etcd keeps quorum (got ${controlPlanes})`,
      });
    }
    const primaryIndex = env.primaryRegion === undefined ? 0 : names.indexOf(env.primaryRegion);
    if (primaryIndex < 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['primaryRegion'],
        message: `must name one of the regions (${names.join(', ')}) (got ${env.primaryRegion})`,
      });
    }
    env.regions.forEach((r, i) => {
      if (r.backupLocation === r.location) {
        ctx.addIssue({
          code: 'custom',
          path: ['regions', i, 'backupLocation'],
          message: `must differ from the region's location ${r.location}: a backup in the same place is lost with it`,
        });
      }
    });
    if (env.tier === 3 && env.regions.every((r) => r.servesGeoRegions.length === 0)) {
      // Only the primary region's database takes writes; the others run CloudNativePG replica
      // clusters. Every geo region listed is steered to whichever region is primary.
      ctx.addIssue({
        code: 'custom',
        path: ['regions', Math.max(primaryIndex, 0), 'servesGeoRegions'],
        message: 'must name at least one Cloudflare geo region for tier 3 steering',
      });
    }
    if (env.tier >= 1 && env.hub.replicas.min < 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['hub', 'replicas', 'min'],
        message: `must be >= 2 for tier ${env.tier} (got ${env.hub.replicas.min})`,
      });
    }
  });

export const environmentSchema = z
  .discriminatedUnion('platform', [laptopEnvironmentSchema, hetznerEnvironmentSchema], {
    error: "must be 'laptop' or 'hetzner'",
  })
  .superRefine((env, ctx) => {
    if (env.backup.archiveTimeoutSeconds > env.drill.rpoSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['backup', 'archiveTimeoutSeconds'],
        message: `must be <= drill.rpoSeconds (${env.drill.rpoSeconds}): a WAL segment may wait that long before it is archived`,
      });
    }
  });

export type Environment = z.infer<typeof environmentSchema>;
export type HetznerEnvironment = z.infer<typeof hetznerEnvironmentSchema>;
export type LaptopEnvironment = z.infer<typeof laptopEnvironmentSchema>;
