import { Redis, type RedisOptions } from 'ioredis';
import type { RedisTarget } from '../config.ts';
import type { Logger } from '../log.ts';

/** Redis reconnect delay after a failed attempt: doubling from 200 ms up to the cap. */
const backoff = (capMs: number) => (attempt: number) => Math.min(100 * 2 ** Math.min(attempt, 6), capMs);

/** Connections the hub closes itself: any other end is ioredis giving up, and is undone. */
const closing = new WeakSet<Redis>();

/*
 * Commands fail fast while Redis is unreachable instead of queueing without bound; the caller gets an
 * error it can answer with, and ioredis keeps reconnecting in the background, also when Redis was
 * down from the start. Through Sentinel every reconnect asks the sentinels for the primary again, and
 * the sentinels' +switch-master notice makes the client leave a demoted primary at once; the delay is
 * capped lower there, since a failover is over within seconds and every one counts.
 */
export function connectRedis(target: RedisTarget, role: string, log: Logger): Redis {
  const common: RedisOptions = {
    connectionName: `ringforge-hub-${role}`,
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    // A write that reached a replica (a primary demoted under this connection): reconnect, which
    // through Sentinel finds the new primary, and send the command again there.
    reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 2 : false),
    // Commands issued in one turn of the event loop go out in one write: under load a hub issues
    // thousands a second (rate limits, publishes, presence), and each write is a system call.
    enableAutoPipelining: role !== 'subscriber',
    // The bus subscribes again after a reconnect itself, to every channel that has a handler.
    autoResubscribe: false,
    ...(target.password === undefined ? {} : { password: target.password }),
  };
  const redis =
    target.kind === 'direct'
      ? new Redis(target.url, { ...common, retryStrategy: backoff(5_000) })
      : new Redis({
          ...common,
          sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
          name: target.masterName,
          role: 'master',
          ...(target.password === undefined ? {} : { sentinelPassword: target.password }),
          failoverDetector: true,
          retryStrategy: backoff(1_000),
          sentinelRetryStrategy: backoff(1_000),
        });
  // Logged by state rather than by error: a server that dies closes its sockets cleanly, and a
  // reconnect through Sentinel may find the new primary at the first attempt, with no error at all.
  let lastError = '';
  let lost = false;
  redis.on('error', (error: Error) => {
    if (error.message !== lastError) log.warn({ role, err: error.message }, 'Redis connection error');
    lastError = error.message;
  });
  redis.on('reconnecting', () => {
    if (!lost) log.warn({ role }, 'Redis connection lost: reconnecting');
    lost = true;
  });
  // ioredis gives a Sentinel connection up for good (status end, "Connection is closed.") when a
  // +switch-master notice reaches the failover detector of its previous connection while it is still
  // looking for the primary, which a failover makes likely. An end the hub did not ask for
  // (closeRedis) is followed by a new connect, so the hub never stays off Redis.
  let ends = 0;
  redis.on('end', () => {
    if (closing.has(redis)) return;
    if (ends === 0) log.warn({ role }, 'Redis client gave up: connecting again');
    setTimeout(() => {
      if (!closing.has(redis) && redis.status === 'end') connectInBackground(redis);
    }, backoff(1_000)(ends++)).unref();
  });
  redis.on('ready', () => {
    if (lost || lastError !== '') log.info({ role }, 'Redis connection restored');
    lost = false;
    lastError = '';
    ends = 0;
  });
  return redis;
}

/** Closes a connection for good, without the reconnect an unexpected end gets. */
export async function closeRedis(redis: Redis): Promise<void> {
  closing.add(redis);
  await redis.quit();
}

/**
 * Starts connecting without waiting: a hub whose Redis is down at start serves not ready (the bus
 * check says why) and becomes ready once a connection is up, instead of exiting and crash-looping.
 */
export function connectInBackground(redis: Redis): void {
  // The first attempt's failure is already logged by the 'error' listener; the retries go on.
  redis.connect().catch(() => undefined);
}

/** Why a connection cannot serve commands now, or undefined when it can. */
export function notConnected(redis: Redis, role: string): string | undefined {
  if (redis.status === 'ready') return undefined;
  return `Redis ${role} connection is ${redis.status === 'wait' ? 'not started' : redis.status}: retrying in the background`;
}

/**
 * Answers when the connection reaches a primary. A replica accepts PUBLISH but its messages never
 * leave it, so a connection left on a demoted primary (it came back as primary and Sentinel turned it
 * into a replica afterwards) would drop every notification without an error. Such a connection is
 * dropped, so it reconnects to whatever the sentinels name, and the hub reports not ready meanwhile.
 */
export async function requirePrimary(redis: Redis, role: string): Promise<void> {
  const [serverRole] = (await redis.call('ROLE')) as [string, ...unknown[]];
  if (serverRole === 'master') return;
  redis.disconnect(true);
  throw new Error(`Redis ${role} connection reached a ${serverRole}, not the primary: reconnecting`);
}
