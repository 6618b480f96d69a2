import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Hub } from '../../src/hub/hub.ts';
import { Admin, ADMIN_TOKEN, startBacking, startTestHub, type Backing } from '../../test/hub/helpers/hub-harness.ts';
import { connectAgent, connectMany, type Agent } from './agents.ts';
import { CONNECTIONS_PER_SOURCE_ADDRESS, sourceAddresses } from './source-addresses.ts';
import type { Target } from './stack.ts';

describe('load test agents: source addresses', () => {
  const loopback = 'ws://127.0.0.1:8080/ws';

  it('keeps the kernel default up to ~28k connections per address', () => {
    assert.deepEqual(sourceAddresses(loopback, CONNECTIONS_PER_SOURCE_ADDRESS, {}), []);
  });

  it('spreads more connections to a loopback hub over 127.0.0.x', () => {
    assert.deepEqual(sourceAddresses(loopback, 3 * CONNECTIONS_PER_SOURCE_ADDRESS + 1, {}), [
      '127.0.0.1',
      '127.0.0.2',
      '127.0.0.3',
      '127.0.0.4',
    ]);
  });

  it('leaves a hub that is not on loopback to the default address', () => {
    assert.deepEqual(sourceAddresses('wss://hub.example.com/ws', 100_000, {}), []);
    assert.deepEqual(sourceAddresses('ws://10.0.0.5:8080/ws', 100_000, {}), []);
  });

  it('takes LOADTEST_SOURCE_ADDRESSES as given, and refuses what is not an address', () => {
    const env = { LOADTEST_SOURCE_ADDRESSES: '127.0.0.7, 127.0.0.9' };
    assert.deepEqual(sourceAddresses('wss://hub.example.com/ws', 10, env), ['127.0.0.7', '127.0.0.9']);
    assert.throws(
      () => sourceAddresses(loopback, 10, { LOADTEST_SOURCE_ADDRESSES: '127.0.0.2,localhost' }),
      /"localhost" is not an IP address/,
    );
  });
});

// The hub counts connections per client address; with a limit of one per address, agents can only
// all connect if each really comes from its own address.
describe('load test agents: the hub sees each agent’s source address', { timeout: 60_000 }, () => {
  let backing: Backing;
  let hub: Hub;
  let target: Target;
  const agents: Agent[] = [];

  before(async () => {
    backing = await startBacking('embedded');
    hub = await startTestHub(backing, { HUB_MAX_CONNECTIONS_PER_ADDRESS: '1' });
    const tenancy = await new Admin(hub.adminUrl).provision('source-addresses');
    target = {
      wsUrl: hub.wsUrl,
      apiKey: tenancy.key,
      replicas: [hub.services.config.replicaId],
      httpUrl: hub.httpUrl,
      adminUrls: [hub.adminUrl],
      adminToken: ADMIN_TOKEN,
    };
  });

  after(async () => {
    for (const agent of agents) agent.close();
    await hub?.shutdown('test over');
    await backing?.stop();
  });

  it('connects agents round robin from LOADTEST_SOURCE_ADDRESSES', async () => {
    process.env.LOADTEST_SOURCE_ADDRESSES = '127.0.0.2,127.0.0.3';
    try {
      agents.push(...(await connectMany(target, ['from-2', 'from-3'])));
    } finally {
      delete process.env.LOADTEST_SOURCE_ADDRESSES;
    }
    assert.equal(hub.connections(), 2);
    // A second agent from an address already in use is over the limit: the first really came from it.
    await assert.rejects(connectAgent(target, 'again-from-2', { localAddress: '127.0.0.2', timeoutMs: 5_000 }));
    agents.push(await connectAgent(target, 'from-4', { localAddress: '127.0.0.4' }));
    assert.equal(hub.connections(), 3);
  });
});
