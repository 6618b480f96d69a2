/* Pure pieces of the hub: configuration, rate limiting, routing choice, backoff. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay } from '../../src/hub/client/backoff.ts';
import { ConfigError, describeUrl, loadConfig } from '../../src/hub/config.ts';
import type { RosterEntry } from '../../src/hub/presence/presence.ts';
import { RateLimiter } from '../../src/hub/rate-limit.ts';
import { pickAgent } from '../../src/hub/services/tasks.ts';

describe('configuration', () => {
  it('defaults to embedded mode with the documented limits', () => {
    const config = loadConfig({});
    assert.deepEqual(
      [config.mode, config.port, config.host, config.adminToken],
      ['embedded', 8080, '127.0.0.1', undefined],
    );
    assert.deepEqual(config.rateLimits, { messagesPerMinute: 100, tasksPerMinute: 20, memoryWritesPerMinute: 50 });
  });

  it('takes configurable rate limits and server mode URLs', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u:p@db:5432/hub',
      REDIS_URL: 'redis://cache:6379',
      HUB_RATE_MESSAGES_PER_MIN: '7',
    });
    assert.equal(config.mode, 'server');
    assert.equal(config.rateLimits.messagesPerMinute, 7);
  });

  it('lists every problem at once, by variable', () => {
    const error = (() => {
      try {
        loadConfig({ HUB_PORT: '70000', LOG_LEVEL: 'loud', HUB_MIGRATE_ON_START: 'yes', REDIS_URL: 'http://x' });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(
      error.problems.map((p) => p.split(':')[0]),
      ['HUB_PORT', 'REDIS_URL', 'HUB_MIGRATE_ON_START', 'LOG_LEVEL'],
    );
  });

  it('logs URLs without credentials', () => {
    assert.equal(describeUrl('postgres://hub:s3cret@db.internal:5432/hub'), 'postgres://db.internal:5432/hub');
  });
});

describe('rate limiter', () => {
  it('allows a minute of requests at once, then refills continuously', () => {
    const limiter = new RateLimiter({ messagesPerMinute: 3, tasksPerMinute: 1, memoryWritesPerMinute: 1 });
    for (let i = 0; i < 3; i++) limiter.take('ag_1', 'rate_messages', 0);
    assert.throws(
      () => limiter.take('ag_1', 'rate_messages', 0),
      (e: any) => e.details.rule === 'rate_messages' && e.details.retryAfterMs === 20_000,
    );
    limiter.take('ag_2', 'rate_messages', 0); // other agents are unaffected
    limiter.take('ag_1', 'rate_messages', 20_000);
    assert.throws(() => limiter.take('ag_1', 'rate_messages', 20_000));
  });
});

describe('task routing choice', () => {
  const agent = (
    agentId: string,
    capabilities: string[],
    load = 0,
    status: 'online' | 'busy' = 'online',
  ): RosterEntry => ({
    agentId,
    name: agentId,
    capabilities,
    tags: [],
    status,
    load,
    replicaId: 'r',
    joinedAt: 0,
  });

  it('requires every capability, then prefers untried, online, fewest active tasks, lowest load', () => {
    const roster = [
      agent('a', ['x']),
      agent('b', ['x', 'y'], 5),
      agent('c', ['x', 'y'], 1),
      agent('d', ['x', 'y'], 0, 'busy'),
    ];
    assert.equal(pickAgent(roster, ['x', 'y'], [], new Map())?.agentId, 'c');
    assert.equal(pickAgent(roster, ['x', 'y'], [], new Map([['c', 2]]))?.agentId, 'b');
    assert.equal(pickAgent(roster, ['x', 'y'], ['c', 'b'], new Map())?.agentId, 'd');
    assert.equal(pickAgent(roster, ['x', 'y'], ['b', 'c', 'd'], new Map())?.agentId, 'c'); // all tried: best anyway
    assert.equal(pickAgent(roster, ['z'], [], new Map()), undefined);
  });
});

describe('reconnect backoff', () => {
  it('grows exponentially up to the ceiling, with full jitter', () => {
    assert.equal(
      backoffDelay(0, { initialMs: 100 }, () => 0.999),
      99,
    );
    assert.equal(
      backoffDelay(3, { initialMs: 100 }, () => 0.5),
      400,
    );
    assert.equal(
      backoffDelay(50, { initialMs: 100, maxMs: 5_000 }, () => 0.999),
      4_995,
    );
    assert.equal(
      backoffDelay(5, {}, () => 0),
      0,
    );
  });
});
