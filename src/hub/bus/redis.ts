import { Redis } from 'ioredis';
import type { Logger } from '../log.ts';

/*
 * Commands fail fast while Redis is unreachable instead of queueing without bound; the caller gets an
 * error it can answer with, and ioredis keeps reconnecting in the background.
 */
export function connectRedis(url: string, role: string, log: Logger): Redis {
  const redis = new Redis(url, {
    connectionName: `ringforge-hub-${role}`,
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 6), 5_000),
  });
  let lastError = '';
  redis.on('error', (error: Error) => {
    if (error.message !== lastError) log.warn({ role, err: error.message }, 'Redis connection error');
    lastError = error.message;
  });
  redis.on('ready', () => {
    if (lastError !== '') log.info({ role }, 'Redis connection restored');
    lastError = '';
  });
  return redis;
}
