/* Pure pieces of the hub: configuration, rate limiting, routing choice, backoff. */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { backoffDelay } from '../../src/hub/client/backoff.ts';
import { ConfigError, describeUrl, loadConfig, type RateLimits } from '../../src/hub/config.ts';
import { clientAddress } from '../../src/hub/net/client-address.ts';
import type { HubError } from '../../src/hub/protocol/errors.ts';
import { channels } from '../../src/hub/bus/bus.ts';
import { createMemoryBus } from '../../src/hub/bus/memory-bus.ts';
import { createLogger } from '../../src/hub/log.ts';
import { Presence, type PresenceEvent, type RosterEntry } from '../../src/hub/presence/presence.ts';
import { createMemoryPresenceStore } from '../../src/hub/presence/store.ts';
import { PRESENCE_LISTED_MAX } from '../../src/hub/protocol/limits.ts';
import { createMemoryBucketStore, RateLimiter } from '../../src/hub/rate-limit.ts';
import { KeyCache } from '../../src/hub/services/key-cache.ts';
import { pickAgent } from '../../src/hub/services/tasks.ts';

describe('configuration', () => {
  it('defaults to embedded mode with the documented limits', () => {
    const config = loadConfig({});
    assert.deepEqual(
      [config.mode, config.port, config.host, config.adminToken],
      ['embedded', 8080, '127.0.0.1', undefined],
    );
    assert.deepEqual(config.rateLimits.messages, { agent: 100, key: 1_000, tenant: 5_000 });
    assert.deepEqual(
      [config.rateLimits.tasks.agent, config.rateLimits.memoryWrites.agent, config.limits.authFailuresPerMinute],
      [20, 50, 5],
    );
    assert.deepEqual([config.adminHost, config.adminPort], ['127.0.0.1', 9090]);
    assert.equal(config.standbyPollMs, 2_000);
  });

  it('takes configurable rate limits and server mode URLs', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u:p@db:5432/hub',
      REDIS_URL: 'redis://cache:6379',
      HUB_RATE_MESSAGES_PER_MIN: '7',
      HUB_TENANT_RATE_TASKS_PER_MIN: '9',
    });
    assert.equal(config.mode, 'server');
    assert.equal(config.rateLimits.messages.agent, 7);
    assert.equal(config.rateLimits.tasks.tenant, 9);
  });

  it('lists every problem at once, by variable', () => {
    const error = (() => {
      try {
        loadConfig({
          HUB_PORT: '70000',
          LOG_LEVEL: 'loud',
          HUB_MIGRATE_ON_START: 'yes',
          HUB_STANDBY_POLL_MS: '50',
          REDIS_URL: 'http://x',
          HUB_TRUSTED_PROXIES: '10.0.0.0/8, 10.1.2.3/33',
        });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(
      error.problems.map((p) => p.split(':')[0]),
      ['HUB_PORT', 'HUB_TRUSTED_PROXIES', 'REDIS_URL', 'HUB_MIGRATE_ON_START', 'HUB_STANDBY_POLL_MS', 'LOG_LEVEL'],
    );
    assert.match(error.message, /HUB_STANDBY_POLL_MS: must be an integer between 100 and 600000 \(got "50"\)/);
    assert.match(error.message, /HUB_TRUSTED_PROXIES: must be IP addresses or CIDR ranges .*"10\.1\.2\.3\/33"/);
  });

  it('logs URLs without credentials', () => {
    assert.equal(describeUrl('postgres://hub:s3cret@db.internal:5432/hub'), 'postgres://db.internal:5432/hub');
  });
});

describe('rate limiter', () => {
  const rates = (agent: number, key: number, tenant: number) => {
    const scoped = { agent, key, tenant };
    return {
      requests: { agent: 1e6, key: 1e6, tenant: 1e6 },
      messages: scoped,
      tasks: scoped,
      memoryWrites: scoped,
    } satisfies RateLimits;
  };
  const limiterAt = (clock: { now: number }, agent: number, key: number, tenant: number) =>
    new RateLimiter(
      createMemoryBucketStore(() => clock.now),
      rates(agent, key, tenant),
      loadConfig({}).limits,
    );
  const refusal = async (promise: Promise<void>) => {
    try {
      await promise;
    } catch (error) {
      return (error as HubError).toBody();
    }
    return undefined;
  };

  it('allows a minute of requests at once, then refills continuously', async () => {
    const clock = { now: 0 };
    const limiter = limiterAt(clock, 3, 100, 100);
    const agent = { agentId: 'ag_1', keyId: 'key_1', tenantId: 'ten_1' };
    for (let i = 0; i < 3; i++) await limiter.request(agent, 'messages');
    assert.deepEqual(await refusal(limiter.request(agent, 'messages')), {
      code: 'rate_limited',
      message: 'rule rate_messages: at most 3 per minute per agent',
      rule: 'rate_messages',
      scope: 'agent',
      retryAfterMs: 20_000,
    });
    await limiter.request({ ...agent, agentId: 'ag_2' }, 'messages'); // other agents are unaffected
    clock.now = 20_000;
    await limiter.request(agent, 'messages');
    assert.equal((await refusal(limiter.request(agent, 'messages')))?.code, 'rate_limited');
  });

  it('counts every agent of a key against the key and the tenant: new agent names gain nothing', async () => {
    const clock = { now: 0 };
    const limiter = limiterAt(clock, 100, 5, 8);
    for (let i = 0; i < 5; i++)
      await limiter.request({ agentId: `ag_${i}`, keyId: 'key_a', tenantId: 'ten_1' }, 'tasks');
    const fresh = await refusal(limiter.request({ agentId: 'ag_new', keyId: 'key_a', tenantId: 'ten_1' }, 'tasks'));
    assert.deepEqual([fresh?.rule, fresh?.scope, fresh?.retryAfterMs], ['rate_tasks', 'key', 12_000]);
    for (let i = 0; i < 3; i++)
      await limiter.request({ agentId: `ag_b${i}`, keyId: 'key_b', tenantId: 'ten_1' }, 'tasks');
    const tenant = await refusal(limiter.request({ agentId: 'ag_b9', keyId: 'key_c', tenantId: 'ten_1' }, 'tasks'));
    assert.deepEqual([tenant?.rule, tenant?.scope], ['rate_tasks', 'tenant']);
    await limiter.request({ agentId: 'ag_x', keyId: 'key_x', tenantId: 'ten_2' }, 'tasks'); // another tenant is unaffected
  });

  it('a refused request spends nothing, and failed authentications are counted per address', async () => {
    const clock = { now: 0 };
    const limiter = limiterAt(clock, 1, 100, 100);
    const agent = { agentId: 'ag_1', keyId: 'key_1', tenantId: 'ten_1' };
    await limiter.request(agent, 'messages');
    assert.ok(await refusal(limiter.request(agent, 'messages')));
    await limiter.request({ ...agent, agentId: 'ag_2' }, 'messages'); // the key's bucket lost only the granted token
    for (let i = 0; i < 5; i++) {
      await limiter.authAllowed('203.0.113.7');
      await limiter.authFailed('203.0.113.7');
    }
    const blocked = await refusal(limiter.authAllowed('203.0.113.7'));
    assert.deepEqual([blocked?.rule, blocked?.scope, blocked?.retryAfterMs], ['auth_failures', 'address', 12_000]);
    await limiter.authAllowed('203.0.113.8');
  });

  it('counts failed authentications made in parallel past zero, up to a minute of debt', async () => {
    const clock = { now: 0 };
    const limiter = limiterAt(clock, 1, 100, 100);
    // given 12 attempts that all passed the check before any of them failed
    for (let i = 0; i < 12; i++) await limiter.authFailed('198.51.100.1');
    // then the address waits for every one of them, but no longer than for a minute's worth of debt
    const wait = await refusal(limiter.authAllowed('198.51.100.1'));
    assert.equal(wait?.retryAfterMs, 72_000);
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
    joinedAt: '2026-01-01T00:00:00.000Z',
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

describe('client address', () => {
  const proxies = loadConfig({ HUB_TRUSTED_PROXIES: '10.244.0.0/16' }).trustedProxies;
  const request = (peer: string, headers: Record<string, string>) =>
    ({ socket: { remoteAddress: peer }, headers }) as unknown as IncomingMessage;

  it("takes Cloudflare's header only from a trusted proxy and only when told to", () => {
    const fromGateway = request('10.244.1.7', {
      'cf-connecting-ip': '203.0.113.9',
      'x-forwarded-for': '203.0.113.9, 172.70.1.1',
    });
    assert.equal(clientAddress(fromGateway, proxies, 'cf-connecting-ip'), '203.0.113.9');
    // Read as a forwarding chain, the right-most untrusted hop is Cloudflare's edge, not the agent.
    assert.equal(clientAddress(fromGateway, proxies), '172.70.1.1');
    const forged = request('198.51.100.4', { 'cf-connecting-ip': '203.0.113.9' });
    assert.equal(clientAddress(forged, proxies, 'cf-connecting-ip'), '198.51.100.4');
  });

  it('falls back to the forwarding chain when the header is missing or not an address', () => {
    for (const value of [undefined, 'not-an-address', '203.0.113.9, 10.0.0.1']) {
      const req = request('10.244.1.7', {
        ...(value === undefined ? {} : { 'cf-connecting-ip': value }),
        'x-forwarded-for': '198.51.100.20',
      });
      assert.equal(clientAddress(req, proxies, 'cf-connecting-ip'), '198.51.100.20', String(value));
    }
  });

  it('HUB_CLIENT_ADDRESS_HEADER accepts the two headers and names itself otherwise', () => {
    assert.equal(loadConfig({}).clientAddressHeader, 'x-forwarded-for');
    assert.equal(loadConfig({ HUB_CLIENT_ADDRESS_HEADER: 'cf-connecting-ip' }).clientAddressHeader, 'cf-connecting-ip');
    assert.throws(
      () => loadConfig({ HUB_CLIENT_ADDRESS_HEADER: 'x-real-ip' }),
      (e: ConfigError) => /HUB_CLIENT_ADDRESS_HEADER: must be one of x-forwarded-for, cf-connecting-ip/.test(e.message),
    );
  });
});

describe('API key cache', () => {
  const scope = { keyId: 'key_1', tenantId: 'ten_1', fleetId: 'flt_1' };
  const hash = Buffer.alloc(32, 1);

  it('holds a key for its TTL, and forgets it on revocation', () => {
    let now = 0;
    const cache = new KeyCache(1_000, 10, () => now);
    cache.set(hash, scope, cache.generation);
    assert.deepEqual(cache.get(hash), scope);
    cache.forgetKey('key_1');
    assert.equal(cache.get(hash), undefined);
    cache.set(hash, scope, cache.generation);
    now = 1_001;
    assert.equal(cache.get(hash), undefined);
  });

  it('caches nothing from a lookup that a revocation overtook', () => {
    const cache = new KeyCache(1_000, 10, () => 0);
    const before = cache.generation;
    cache.forgetKey('key_1');
    cache.set(hash, scope, before);
    assert.equal(cache.get(hash), undefined);
  });

  it('forgets every key on clear, also what a lookup in flight would cache', () => {
    const cache = new KeyCache(1_000, 10, () => 0);
    const before = cache.generation;
    cache.set(hash, scope, before);
    cache.clear();
    assert.equal(cache.get(hash), undefined);
    cache.set(hash, scope, before);
    assert.equal(cache.get(hash), undefined);
  });

  it('holds at most its size, dropping the oldest', () => {
    const cache = new KeyCache(1_000, 2, () => 0);
    const hashes = [1, 2, 3].map((n) => Buffer.alloc(32, n));
    for (const h of hashes) cache.set(h, scope, cache.generation);
    assert.deepEqual(
      hashes.map((h) => cache.get(h) !== undefined),
      [false, true, true],
    );
  });
});

describe('presence batching', () => {
  const fleetId = 'flt_batch';
  const setup = async (batchMs: number) => {
    const log = createLogger('silent');
    const bus = createMemoryBus(log);
    const events: PresenceEvent[] = [];
    await bus.subscribe(channels.fleet(fleetId), (message) => events.push(message as PresenceEvent));
    const presence = new Presence(createMemoryPresenceStore(), bus, 60_000, log, batchMs);
    const join = (i: number) =>
      presence.join(fleetId, {
        agentId: `agt_${i}`,
        name: `agent-${i}`,
        capabilities: [],
        tags: [],
        status: 'online',
        load: 0,
        replicaId: 'replica-1',
        connectionId: `c${i}`,
        joinedAt: new Date().toISOString(),
      });
    return { events, presence, join };
  };
  const until = async (done: () => boolean) => {
    for (let waited = 0; !done(); waited += 10) {
      assert.ok(waited < 5_000, 'no presence event within 5 s');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  it('lists the changes of one window in one event', async () => {
    const { events, join } = await setup(20);
    await Promise.all([1, 2, 3].map(join));
    await until(() => events.length > 0);
    assert.deepEqual(
      events.map((e) => [e.joined.map((m) => m.name).sort(), e.left, e.resync]),
      [[['agent-1', 'agent-2', 'agent-3'], [], false]],
    );
  });

  it(`says resync instead of listing a window of more than ${PRESENCE_LISTED_MAX} changes, and lengthens the next window`, async () => {
    const { events, join } = await setup(20);
    await Promise.all(Array.from({ length: PRESENCE_LISTED_MAX + 1 }, (_, i) => join(i)));
    await until(() => events.length > 0);
    assert.deepEqual(events, [{ kind: 'presence', joined: [], left: [], resync: true }]);
    const started = Date.now();
    await join(1_000);
    await until(() => events.length > 1);
    assert.ok(Date.now() - started >= 40, 'the window after a large batch is longer than the configured one');
    assert.deepEqual(events[1]?.joined, [{ agentId: 'agt_1000', name: 'agent-1000' }]);
  });
});
