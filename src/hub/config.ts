/*
 * Configuration comes only from environment variables, validated once at start. A mistake names the
 * variable and the rule; values of secret variables are never echoed back.
 */
import { readFileSync } from 'node:fs';
import { BlockList } from 'node:net';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { parseAddressRange } from './net/cidr.ts';
import { CLIENT_ADDRESS_HEADERS, type ClientAddressHeader } from './net/client-address.ts';

const SECRET_VARIABLES = new Set(['DATABASE_URL', 'REDIS_URL', 'HUB_ADMIN_TOKEN']);

function integer(fallback: number, min: number, max: number) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return fallback;
      const value = Number(raw);
      if (!Number.isInteger(value) || value < min || value > max) {
        ctx.addIssue({ code: 'custom', message: `must be an integer between ${min} and ${max}` });
        return z.NEVER;
      }
      return value;
    });
}

function connectionUrl(protocols: readonly string[]) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return undefined;
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be a URL (${protocols.join(' or ')})` });
        return z.NEVER;
      }
      if (!protocols.includes(url.protocol)) {
        ctx.addIssue({ code: 'custom', message: `must use ${protocols.join(' or ')} (got ${url.protocol})` });
        return z.NEVER;
      }
      return raw;
    });
}

/** A comma-separated list of IP addresses and CIDR ranges, e.g. `10.42.0.0/16,127.0.0.1`. */
const addressList = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    const entries = (raw ?? '')
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '');
    for (const entry of entries) {
      if (parseAddressRange(entry) === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `must be IP addresses or CIDR ranges separated by commas (got ${JSON.stringify(entry)})`,
        });
        return z.NEVER;
      }
    }
    return entries;
  });

/** Sentinel addresses, `host:port` separated by commas (`[::1]:26379` for IPv6). */
const sentinelList = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    if (raw === undefined || raw.trim() === '') return undefined;
    const sentinels: { host: string; port: number }[] = [];
    for (const entry of raw.split(',').map((e) => e.trim())) {
      const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/.exec(entry);
      const port = Number(match?.[3]);
      if (match === null || port < 1 || port > 65535) {
        ctx.addIssue({ code: 'custom', message: 'must be host:port entries separated by commas, port 1-65535' });
        return z.NEVER;
      }
      sentinels.push({ host: match[1] ?? match[2]!, port });
    }
    return sentinels;
  });

/*
 * The password is read from a file (a mounted Secret), so it appears in no process's arguments or
 * environment listing; one trailing newline, as editors and `kubectl create secret --from-file` leave, is
 * not part of it.
 */
const passwordFile = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    if (raw === undefined || raw.trim() === '') return undefined;
    let password: string;
    try {
      password = readFileSync(raw, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      ctx.addIssue({ code: 'custom', message: `must name a readable file (${code})` });
      return z.NEVER;
    }
    if (password === '' || /[\r\n]/.test(password)) {
      ctx.addIssue({ code: 'custom', message: 'the file must hold the password on one non-empty line' });
      return z.NEVER;
    }
    return password;
  });

const MIB = 1024 * 1024;

/* Rate limit rules, each enforced per agent, per API key and per tenant (token buckets per minute). */
const RATE_DEFAULTS = {
  requests: { agent: 600, key: 6_000, tenant: 30_000 },
  messages: { agent: 100, key: 1_000, tenant: 5_000 },
  tasks: { agent: 20, key: 200, tenant: 1_000 },
  memoryWrites: { agent: 50, key: 500, tenant: 2_500 },
} as const;
export type RateRuleName = keyof typeof RATE_DEFAULTS;
export type RateScope = 'agent' | 'key' | 'tenant';
const SCOPE_PREFIX: Record<RateScope, string> = {
  agent: 'HUB_RATE_',
  key: 'HUB_KEY_RATE_',
  tenant: 'HUB_TENANT_RATE_',
};
const RULE_SUFFIX: Record<RateRuleName, string> = {
  requests: 'REQUESTS_PER_MIN',
  messages: 'MESSAGES_PER_MIN',
  tasks: 'TASKS_PER_MIN',
  memoryWrites: 'MEMORY_WRITES_PER_MIN',
};
/** The environment variable that sets one rule in one scope, e.g. `HUB_KEY_RATE_MESSAGES_PER_MIN`. */
export const rateVariable = (rule: RateRuleName, scope: RateScope) => `${SCOPE_PREFIX[scope]}${RULE_SUFFIX[rule]}`;
const RULES = Object.keys(RATE_DEFAULTS) as RateRuleName[];
const SCOPES: readonly RateScope[] = ['agent', 'key', 'tenant'];
const rateVariables = Object.fromEntries(
  RULES.flatMap((rule) =>
    SCOPES.map((scope) => [rateVariable(rule, scope), integer(RATE_DEFAULTS[rule][scope], 1, 10_000_000)]),
  ),
);

/**
 * Settings that lift every rate and connection limit, for benchmarks, drills and tests that drive one
 * hub from one loopback address with one key far beyond what one agent may do.
 */
export function limitsLifted(): Record<string, string> {
  const max = '10000000';
  return {
    ...Object.fromEntries(RULES.flatMap((rule) => SCOPES.map((scope) => [rateVariable(rule, scope), max]))),
    HUB_AUTH_FAILURES_PER_MIN: '1000000',
    HUB_ADMIN_REQUESTS_PER_MIN: '1000000',
    HUB_MAX_CONNECTIONS_PER_ADDRESS: max,
    HUB_MAX_CONNECTIONS_PER_KEY: max,
    HUB_MAX_CONNECTIONS_PER_TENANT: max,
    HUB_MAX_AGENTS_PER_KEY: max,
  };
}

const environmentSchema = z.object({
  HUB_HOST: z.string().min(1, 'must not be empty').default('127.0.0.1'),
  HUB_PORT: integer(8080, 0, 65535),
  HUB_ADMIN_HOST: z.string().min(1, 'must not be empty').default('127.0.0.1'),
  HUB_ADMIN_PORT: integer(9090, 0, 65535),
  HUB_TRUSTED_PROXIES: addressList,
  HUB_CLIENT_ADDRESS_HEADER: z
    .enum(CLIENT_ADDRESS_HEADERS, { error: `must be one of ${CLIENT_ADDRESS_HEADERS.join(', ')}` })
    .default('x-forwarded-for'),
  DATABASE_URL: connectionUrl(['postgres:', 'postgresql:']),
  REDIS_URL: connectionUrl(['redis:', 'rediss:']),
  REDIS_SENTINELS: sentinelList,
  REDIS_SENTINEL_MASTER: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be 1-100 characters of A-Z a-z 0-9 . _ -')
    .optional(),
  REDIS_PASSWORD_FILE: passwordFile,
  HUB_DATA_DIR: z.string().min(1, 'must not be empty').default('.hub-data'),
  HUB_ADMIN_TOKEN: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || v.length >= 32, 'must be at least 32 characters'),
  HUB_REPLICA_ID: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/, 'must be 1-100 characters of A-Z a-z 0-9 . _ -')
    .optional(),
  HUB_SHUTDOWN_GRACE_MS: integer(25_000, 100, 600_000),
  HUB_DRAIN_DELAY_MS: integer(0, 0, 600_000),
  ...rateVariables,
  HUB_AUTH_FAILURES_PER_MIN: integer(5, 1, 1_000_000),
  HUB_ADMIN_REQUESTS_PER_MIN: integer(60, 1, 1_000_000),
  HUB_MAX_CONNECTIONS: integer(20_000, 1, 10_000_000),
  HUB_MAX_CONNECTIONS_PER_ADDRESS: integer(200, 1, 10_000_000),
  HUB_MAX_CONNECTIONS_PER_KEY: integer(2_000, 1, 10_000_000),
  HUB_MAX_CONNECTIONS_PER_TENANT: integer(10_000, 1, 10_000_000),
  HUB_MAX_AGENTS_PER_KEY: integer(1_000, 1, 10_000_000),
  HUB_SESSION_BUFFER_BYTES: integer(8 * MIB, 4 * MIB, 1024 * MIB),
  HUB_OUTBOUND_BUFFER_BYTES: integer(256 * MIB, 16 * MIB, 64 * 1024 * MIB),
  HUB_PRESENCE_TTL_MS: integer(30_000, 1_000, 3_600_000),
  HUB_PRESENCE_BATCH_MS: integer(250, 0, 10_000),
  HUB_KEY_CACHE_TTL_MS: integer(30_000, 0, 3_600_000),
  HUB_TASK_TIMEOUT_MS: integer(60_000, 100, 86_400_000),
  HUB_TASK_MAX_ATTEMPTS: integer(3, 1, 100),
  HUB_SWEEP_INTERVAL_MS: integer(1_000, 50, 600_000),
  HUB_HELLO_TIMEOUT_MS: integer(10_000, 100, 600_000),
  HUB_WS_PING_INTERVAL_MS: integer(30_000, 1_000, 600_000),
  HUB_DB_POOL_SIZE: integer(10, 1, 500),
  HUB_MIGRATE_ON_START: z.enum(['true', 'false'], { error: 'must be true or false' }).default('true'),
  HUB_STANDBY_POLL_MS: integer(2_000, 100, 600_000),
  HUB_WAL_HEARTBEAT_MS: integer(300_000, 1_000, 3_600_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/**
 * Per-minute allowances of each rule in each scope: `requests` counts every request after hello,
 * `messages` direct messages and broadcasts, `tasks` submissions, `memoryWrites` sets and deletes.
 */
export type RateLimits = Readonly<Record<RateRuleName, Readonly<Record<RateScope, number>>>>;

/** Caps on what one client can hold or try; see PROTOCOL.md, Limits. */
export interface AbuseLimits {
  /** Failed hellos and admin authentications per remote address per minute. */
  readonly authFailuresPerMinute: number;
  /** Admin API requests per minute, all together (there is one admin token). */
  readonly adminRequestsPerMinute: number;
  /** WebSocket connections on this replica, in total and per remote address, API key and tenant. */
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  readonly maxConnectionsPerKey: number;
  readonly maxConnectionsPerTenant: number;
  /** Distinct agents an API key may create. */
  readonly maxAgentsPerKey: number;
  /** Bytes one session may have waiting to be written before it is closed as a slow consumer. */
  readonly sessionBufferBytes: number;
  /** Bytes all sessions of the replica together may have waiting to be written. */
  readonly outboundBufferBytes: number;
}

/**
 * Where Redis (Valkey) is: one address, or a primary that Sentinel names and moves on failover. The
 * password, when set, is the same for the data nodes and the sentinels.
 */
export type RedisTarget =
  | { readonly kind: 'direct'; readonly url: string; readonly password?: string }
  | {
      readonly kind: 'sentinel';
      readonly sentinels: readonly { readonly host: string; readonly port: number }[];
      readonly masterName: string;
      readonly password?: string;
    };

export interface HubConfig {
  readonly host: string;
  readonly port: number;
  /** The operations listener (`/metrics`, the admin API, health): keep it off the public path. */
  readonly adminHost: string;
  readonly adminPort: number;
  /** Proxies whose `X-Forwarded-For` is believed; the client address is the first hop not in this list. */
  readonly trustedProxies: BlockList;
  /** The header of a trusted proxy that names the client (`cf-connecting-ip` behind Cloudflare). */
  readonly clientAddressHeader: ClientAddressHeader;
  /** `server`: Postgres + Redis, any number of replicas. `embedded`: PGlite + in-process bus, one replica. */
  readonly mode: 'server' | 'embedded';
  readonly databaseUrl?: string;
  readonly redis?: RedisTarget;
  /** PGlite data directory (embedded mode). */
  readonly dataDir: string;
  /** Unset disables the admin API. */
  readonly adminToken?: string;
  readonly replicaId: string;
  readonly shutdownGraceMs: number;
  /** After SIGTERM, how long to keep serving while not ready, so load balancers stop routing here first. */
  readonly drainDelayMs: number;
  readonly rateLimits: RateLimits;
  readonly limits: AbuseLimits;
  readonly presenceTtlMs: number;
  /** How long a replica gathers a fleet's joins and departures into one `presence.changed` event. */
  readonly presenceBatchMs: number;
  /** How long a replica trusts an API key it looked up; 0 looks every key up on every hello. */
  readonly keyCacheTtlMs: number;
  readonly taskTimeoutMs: number;
  readonly taskMaxAttempts: number;
  readonly sweepIntervalMs: number;
  readonly helloTimeoutMs: number;
  readonly wsPingIntervalMs: number;
  readonly dbPoolSize: number;
  readonly migrateOnStart: boolean;
  /** How often Postgres is asked whether it is in recovery: a standby's promotion, a primary's demotion. */
  readonly standbyPollMs: number;
  /** How often a ready hub on a primary rewrites the WAL heartbeat row, so an idle primary still archives. */
  readonly walHeartbeatMs: number;
  readonly logLevel: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid hub configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads and validates the configuration; throws ConfigError listing every problem at once. The
 * migrate command needs only the database, so it may leave Redis unset.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, purpose: 'serve' | 'migrate' = 'serve'): HubConfig {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? '');
      const raw = env[variable];
      const shown = raw === undefined || SECRET_VARIABLES.has(variable) ? '' : ` (got ${JSON.stringify(raw)})`;
      return `${variable}: ${issue.message}${shown}`;
    });
    throw new ConfigError(problems);
  }
  const e = parsed.data as typeof parsed.data & Record<string, number>;
  const redis = redisTarget(e);
  if (purpose === 'serve' && (e.DATABASE_URL === undefined) !== (redis === undefined)) {
    throw new ConfigError([
      'DATABASE_URL and REDIS_URL: set both (server mode, any number of replicas; REDIS_SENTINELS may stand in for REDIS_URL) or neither (embedded mode, one replica)',
    ]);
  }
  return {
    host: e.HUB_HOST,
    port: e.HUB_PORT,
    adminHost: e.HUB_ADMIN_HOST,
    adminPort: e.HUB_ADMIN_PORT,
    trustedProxies: blockList(e.HUB_TRUSTED_PROXIES),
    clientAddressHeader: e.HUB_CLIENT_ADDRESS_HEADER,
    mode: e.DATABASE_URL === undefined ? 'embedded' : 'server',
    databaseUrl: e.DATABASE_URL,
    redis,
    dataDir: resolve(e.HUB_DATA_DIR),
    adminToken: e.HUB_ADMIN_TOKEN === '' ? undefined : e.HUB_ADMIN_TOKEN,
    replicaId:
      e.HUB_REPLICA_ID ??
      `${hostname()
        .replace(/[^A-Za-z0-9._-]/g, '-')
        .slice(0, 80)}-${process.pid}`,
    shutdownGraceMs: e.HUB_SHUTDOWN_GRACE_MS,
    drainDelayMs: e.HUB_DRAIN_DELAY_MS,
    rateLimits: Object.fromEntries(
      RULES.map((rule) => [rule, Object.fromEntries(SCOPES.map((scope) => [scope, e[rateVariable(rule, scope)]!]))]),
    ) as RateLimits,
    limits: {
      authFailuresPerMinute: e.HUB_AUTH_FAILURES_PER_MIN,
      adminRequestsPerMinute: e.HUB_ADMIN_REQUESTS_PER_MIN,
      maxConnections: e.HUB_MAX_CONNECTIONS,
      maxConnectionsPerAddress: e.HUB_MAX_CONNECTIONS_PER_ADDRESS,
      maxConnectionsPerKey: e.HUB_MAX_CONNECTIONS_PER_KEY,
      maxConnectionsPerTenant: e.HUB_MAX_CONNECTIONS_PER_TENANT,
      maxAgentsPerKey: e.HUB_MAX_AGENTS_PER_KEY,
      sessionBufferBytes: e.HUB_SESSION_BUFFER_BYTES,
      outboundBufferBytes: e.HUB_OUTBOUND_BUFFER_BYTES,
    },
    presenceTtlMs: e.HUB_PRESENCE_TTL_MS,
    presenceBatchMs: e.HUB_PRESENCE_BATCH_MS,
    keyCacheTtlMs: e.HUB_KEY_CACHE_TTL_MS,
    taskTimeoutMs: e.HUB_TASK_TIMEOUT_MS,
    taskMaxAttempts: e.HUB_TASK_MAX_ATTEMPTS,
    sweepIntervalMs: e.HUB_SWEEP_INTERVAL_MS,
    helloTimeoutMs: e.HUB_HELLO_TIMEOUT_MS,
    wsPingIntervalMs: e.HUB_WS_PING_INTERVAL_MS,
    dbPoolSize: e.HUB_DB_POOL_SIZE,
    migrateOnStart: e.HUB_MIGRATE_ON_START === 'true',
    standbyPollMs: e.HUB_STANDBY_POLL_MS,
    walHeartbeatMs: e.HUB_WAL_HEARTBEAT_MS,
    logLevel: e.LOG_LEVEL,
  };
}

function redisTarget(e: {
  REDIS_URL?: string;
  REDIS_SENTINELS?: { host: string; port: number }[];
  REDIS_SENTINEL_MASTER?: string;
  REDIS_PASSWORD_FILE?: string;
}): RedisTarget | undefined {
  const password = e.REDIS_PASSWORD_FILE === undefined ? {} : { password: e.REDIS_PASSWORD_FILE };
  if (e.REDIS_SENTINELS === undefined) {
    if (e.REDIS_SENTINEL_MASTER !== undefined) {
      throw new ConfigError(['REDIS_SENTINEL_MASTER: only means something with REDIS_SENTINELS, which is unset']);
    }
    if (e.REDIS_URL === undefined) {
      if (e.REDIS_PASSWORD_FILE !== undefined) {
        throw new ConfigError(['REDIS_PASSWORD_FILE: set REDIS_URL or REDIS_SENTINELS too']);
      }
      return undefined;
    }
    return { kind: 'direct', url: e.REDIS_URL, ...password };
  }
  if (e.REDIS_URL !== undefined) {
    throw new ConfigError(['REDIS_URL and REDIS_SENTINELS: set one (a fixed address, or Sentinel), not both']);
  }
  if (e.REDIS_SENTINEL_MASTER === undefined) {
    throw new ConfigError(['REDIS_SENTINEL_MASTER: required with REDIS_SENTINELS (the name the sentinels monitor)']);
  }
  return { kind: 'sentinel', sentinels: e.REDIS_SENTINELS, masterName: e.REDIS_SENTINEL_MASTER, ...password };
}

function blockList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const { address, family, prefix } of entries.map((e) => parseAddressRange(e)!)) {
    list.addSubnet(address, prefix, family);
  }
  return list;
}

/** Where Redis is, fit for logs: never credentials. */
export function describeRedis(target: RedisTarget): string {
  if (target.kind === 'direct') return describeUrl(target.url);
  const sentinels = target.sentinels.map((s) => `${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.port}`);
  return `the primary Sentinel names ${target.masterName} (sentinels ${sentinels.join(', ')})`;
}

/** A URL fit for logs: scheme, host, port and path, never credentials. */
export function describeUrl(raw: string): string {
  const url = new URL(raw);
  return `${url.protocol}//${url.hostname}${url.port === '' ? '' : `:${url.port}`}${url.pathname === '/' ? '' : url.pathname}`;
}
