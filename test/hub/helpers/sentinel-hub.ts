/* The environment of a hub process that reaches Redis through a local Sentinel group. */
import type { LocalPostgres, RedisSentinelGroup } from '../../../scripts/lib/local-services.ts';
import { ADMIN_TOKEN } from './hub-harness.ts';

export const sentinelHubEnv = (postgres: LocalPostgres, group: RedisSentinelGroup): Record<string, string> => ({
  DATABASE_URL: postgres.url,
  REDIS_SENTINELS: group.sentinelAddresses,
  REDIS_SENTINEL_MASTER: group.masterName,
  REDIS_PASSWORD_FILE: group.passwordFile,
  HUB_ADMIN_TOKEN: ADMIN_TOKEN,
  HUB_SHUTDOWN_GRACE_MS: '5000',
});
