/*
 * Configuration comes only from environment variables, validated once at start. A mistake names the
 * variable and the rule; values of secret variables are never echoed back.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';

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

const environmentSchema = z.object({
  HUB_HOST: z.string().min(1, 'must not be empty').default('127.0.0.1'),
  HUB_PORT: integer(8080, 0, 65535),
  DATABASE_URL: connectionUrl(['postgres:', 'postgresql:']),
  REDIS_URL: connectionUrl(['redis:', 'rediss:']),
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
  HUB_RATE_MESSAGES_PER_MIN: integer(100, 1, 1_000_000),
  HUB_RATE_TASKS_PER_MIN: integer(20, 1, 1_000_000),
  HUB_RATE_MEMORY_WRITES_PER_MIN: integer(50, 1, 1_000_000),
  HUB_PRESENCE_TTL_MS: integer(30_000, 1_000, 3_600_000),
  HUB_TASK_TIMEOUT_MS: integer(60_000, 100, 86_400_000),
  HUB_TASK_MAX_ATTEMPTS: integer(3, 1, 100),
  HUB_SWEEP_INTERVAL_MS: integer(1_000, 50, 600_000),
  HUB_HELLO_TIMEOUT_MS: integer(10_000, 100, 600_000),
  HUB_WS_PING_INTERVAL_MS: integer(30_000, 1_000, 600_000),
  HUB_DB_POOL_SIZE: integer(10, 1, 500),
  HUB_MIGRATE_ON_START: z.enum(['true', 'false'], { error: 'must be true or false' }).default('true'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface RateLimits {
  /** Direct messages and broadcasts per agent per minute. */
  readonly messagesPerMinute: number;
  readonly tasksPerMinute: number;
  readonly memoryWritesPerMinute: number;
}

export interface HubConfig {
  readonly host: string;
  readonly port: number;
  /** `server`: Postgres + Redis, any number of replicas. `embedded`: PGlite + in-process bus, one replica. */
  readonly mode: 'server' | 'embedded';
  readonly databaseUrl?: string;
  readonly redisUrl?: string;
  /** PGlite data directory (embedded mode). */
  readonly dataDir: string;
  /** Unset disables the admin API. */
  readonly adminToken?: string;
  readonly replicaId: string;
  readonly shutdownGraceMs: number;
  /** After SIGTERM, how long to keep serving while not ready, so load balancers stop routing here first. */
  readonly drainDelayMs: number;
  readonly rateLimits: RateLimits;
  readonly presenceTtlMs: number;
  readonly taskTimeoutMs: number;
  readonly taskMaxAttempts: number;
  readonly sweepIntervalMs: number;
  readonly helloTimeoutMs: number;
  readonly wsPingIntervalMs: number;
  readonly dbPoolSize: number;
  readonly migrateOnStart: boolean;
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
 * migrate command needs only the database, so it may leave REDIS_URL unset.
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
  const e = parsed.data;
  if (purpose === 'serve' && (e.DATABASE_URL === undefined) !== (e.REDIS_URL === undefined)) {
    throw new ConfigError([
      'DATABASE_URL and REDIS_URL: set both (server mode, any number of replicas) or neither (embedded mode, one replica)',
    ]);
  }
  return {
    host: e.HUB_HOST,
    port: e.HUB_PORT,
    mode: e.DATABASE_URL === undefined ? 'embedded' : 'server',
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    dataDir: resolve(e.HUB_DATA_DIR),
    adminToken: e.HUB_ADMIN_TOKEN === '' ? undefined : e.HUB_ADMIN_TOKEN,
    replicaId:
      e.HUB_REPLICA_ID ??
      `${hostname()
        .replace(/[^A-Za-z0-9._-]/g, '-')
        .slice(0, 80)}-${process.pid}`,
    shutdownGraceMs: e.HUB_SHUTDOWN_GRACE_MS,
    drainDelayMs: e.HUB_DRAIN_DELAY_MS,
    rateLimits: {
      messagesPerMinute: e.HUB_RATE_MESSAGES_PER_MIN,
      tasksPerMinute: e.HUB_RATE_TASKS_PER_MIN,
      memoryWritesPerMinute: e.HUB_RATE_MEMORY_WRITES_PER_MIN,
    },
    presenceTtlMs: e.HUB_PRESENCE_TTL_MS,
    taskTimeoutMs: e.HUB_TASK_TIMEOUT_MS,
    taskMaxAttempts: e.HUB_TASK_MAX_ATTEMPTS,
    sweepIntervalMs: e.HUB_SWEEP_INTERVAL_MS,
    helloTimeoutMs: e.HUB_HELLO_TIMEOUT_MS,
    wsPingIntervalMs: e.HUB_WS_PING_INTERVAL_MS,
    dbPoolSize: e.HUB_DB_POOL_SIZE,
    migrateOnStart: e.HUB_MIGRATE_ON_START === 'true',
    logLevel: e.LOG_LEVEL,
  };
}

/** A URL fit for logs: scheme, host, port and path, never credentials. */
export function describeUrl(raw: string): string {
  const url = new URL(raw);
  return `${url.protocol}//${url.hostname}${url.port === '' ? '' : `:${url.port}`}${url.pathname === '/' ? '' : url.pathname}`;
}
