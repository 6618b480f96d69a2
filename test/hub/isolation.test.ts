/*
 * Tenant isolation, the cardinal rule: two tenants with identically named fleets and agents, and
 * tenant A trying every operation against tenant B's data. Each attempt must fail with a clear error,
 * and nothing of B may be observable from A. The suite reports how many operations it tried.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { HubClient } from '../../src/hub/client/client.ts';
import type { Hub } from '../../src/hub/hub.ts';
import {
  Admin,
  closeAllClients,
  collectDms,
  connectAgent,
  errorCode,
  MODES,
  startBacking,
  startTestHub,
  type Backing,
} from './helpers/hub-harness.ts';

for (const mode of MODES) {
  describe(`tenant isolation (${mode})`, () => {
    let backing: Backing;
    let hub: Hub;
    let admin: Admin;
    let a: { tenantId: string; fleetId: string; key: string };
    let b: { tenantId: string; fleetId: string; key: string; keyId: string };
    let aliceA: HubClient;
    let bobA: HubClient;
    let aliceB: HubClient;
    let bobB: HubClient;
    const seenByA: string[] = [];
    const seenByB: string[] = [];
    let bTaskId: string;

    before(async () => {
      backing = await startBacking(mode);
      hub = await startTestHub(backing);
      admin = new Admin(hub.adminUrl);
      a = await admin.provision('tenant-a', 'default');
      const bTenant = await admin.createTenant('tenant-b');
      const bFleet = await admin.createFleet(bTenant.id, 'default');
      const bKey = await admin.createKey(bTenant.id, bFleet.id);
      b = { tenantId: bTenant.id, fleetId: bFleet.id, key: bKey.key, keyId: bKey.id };

      const watch = (seen: string[]) => (c: HubClient) => c.on('event', (name) => seen.push(name));
      aliceA = await connectAgent(hub.wsUrl, a.key, 'alice', {
        agent: { name: 'alice', capabilities: ['shared'] },
        onCreate: watch(seenByA),
      });
      bobA = await connectAgent(hub.wsUrl, a.key, 'bob', { onCreate: watch(seenByA) });
      aliceB = await connectAgent(hub.wsUrl, b.key, 'alice', { onCreate: watch(seenByB) });
      bobB = await connectAgent(hub.wsUrl, b.key, 'bob', {
        agent: { name: 'bob', capabilities: ['b-only'] },
        onCreate: watch(seenByB),
      });

      // Tenant B's data that tenant A will go after.
      await aliceB.request('memory.set', { key: 'secret', value: 'B-secret' });
      await aliceB.request('memory.set', { key: 'shared/config', value: 'B-config' });
      await aliceB.sendDm(bobB.identity.agentId, 'B private message', { idempotencyKey: 'same-key' });
      const submitted = await aliceB.request<any>('task.submit', { capabilities: ['shared'], payload: 'B task' });
      bTaskId = submitted.task.id;
    });

    after(async () => {
      closeAllClients();
      await hub?.shutdown('test finished');
      await backing?.stop();
    });

    it('rejects every cross-tenant operation with a clear error', async (t) => {
      const tried: string[] = [];
      const rejected = async (what: string, attempt: Promise<unknown>, code: string, message?: RegExp) => {
        tried.push(what);
        const error = await errorCode(attempt);
        assert.equal(error.code, code, `${what}: expected ${code}, got ${error.code} (${error.message})`);
        if (message) assert.match(error.message, message, what);
      };
      const httpRejected = async (what: string, method: string, path: string, status: number) => {
        tried.push(what);
        const response = await admin.call(method, path, method === 'POST' ? {} : undefined);
        assert.equal(response.status, status, `${what}: ${JSON.stringify(response.body)}`);
        assert.equal(typeof response.body.error, 'string', what);
      };
      const bAlice = aliceB.identity.agentId;
      const bBob = bobB.identity.agentId;
      const fleetB = { fleetId: b.fleetId };
      const tenantB = { tenantId: b.tenantId };

      // Direct messages addressed to B's agents, by id.
      await rejected(
        'dm.send to B agent',
        aliceA.request('dm.send', { to: bAlice, body: 'hi' }),
        'not_found',
        /in your fleet/,
      );
      await rejected(
        'dm.send to B agent with idempotency key',
        aliceA.request('dm.send', { to: bBob, body: 'x' }, { idempotencyKey: 'k2' }),
        'not_found',
      );
      await rejected(
        'dm.fetch of B agent inbox',
        aliceA.request('dm.fetch', { afterSeq: 0, agentId: bBob }),
        'invalid_request',
        /agentId/,
      );
      await rejected(
        'dm.ack for B agent',
        aliceA.request('dm.ack', { seq: 1, agentId: bBob }),
        'invalid_request',
        /agentId/,
      );
      // Tasks of B, by id.
      await rejected(
        'task.get of B task',
        aliceA.request('task.get', { taskId: bTaskId }),
        'not_found',
        /in your fleet/,
      );
      await rejected('task.claim of B task', aliceA.request('task.claim', { taskId: bTaskId }), 'not_found');
      await rejected(
        'task.result for B task',
        aliceA.request('task.result', { taskId: bTaskId, result: 'forged' }),
        'not_found',
      );
      await rejected(
        'task.result error for B task',
        aliceA.request('task.result', { taskId: bTaskId, error: 'forged' }),
        'not_found',
      );
      await rejected(
        'task.submit into B fleet',
        aliceA.request('task.submit', { capabilities: [], payload: 1, ...fleetB }),
        'invalid_request',
        /fleetId/,
      );
      // Memory and presence addressed at B's fleet or tenant explicitly.
      for (const [type, payload] of [
        ['memory.get', { key: 'secret' }],
        ['memory.set', { key: 'secret', value: 'A overwrote' }],
        ['memory.list', { prefix: '' }],
        ['memory.delete', { key: 'secret' }],
        ['presence.roster', {}],
        ['activity.broadcast', { data: 'to B' }],
      ] as const) {
        await rejected(
          `${type} with B fleetId`,
          aliceA.request(type, { ...payload, ...fleetB }),
          'invalid_request',
          /fleetId/,
        );
        await rejected(
          `${type} with B tenantId`,
          aliceA.request(type, { ...payload, ...tenantB }),
          'invalid_request',
          /tenantId/,
        );
      }
      // Same key names resolve within A's own fleet only.
      await rejected('memory.get of a key only B has', aliceA.request('memory.get', { key: 'secret' }), 'not_found');
      // A hello that names B's tenant or fleet is refused; the key alone decides the scope.
      await rejected(
        'hello claiming B fleet',
        (async () => {
          const ws = new (await import('ws')).default(hub.wsUrl);
          await new Promise((r) => ws.once('open', r));
          ws.send(
            JSON.stringify({ type: 'hello', id: 'h', payload: { apiKey: a.key, agent: { name: 'x' }, ...fleetB } }),
          );
          const reply = await new Promise<any>((r) => ws.once('message', (d) => r(JSON.parse(d.toString()))));
          ws.close();
          if (!reply.ok) throw Object.assign(new Error(reply.error.message), reply.error);
        })(),
        'invalid_request',
      );
      // Admin routes that combine tenant A with B's fleet, key or agents.
      await httpRejected(
        'admin: API key for B fleet under tenant A',
        'POST',
        `/api/admin/tenants/${a.tenantId}/fleets/${b.fleetId}/api-keys`,
        404,
      );
      await httpRejected(
        'admin: list B fleet agents under tenant A',
        'GET',
        `/api/admin/tenants/${a.tenantId}/agents?fleetId=${b.fleetId}`,
        404,
      );
      await httpRejected(
        'admin: revoke B key under tenant A',
        'DELETE',
        `/api/admin/tenants/${a.tenantId}/api-keys/${b.keyId}`,
        404,
      );

      t.diagnostic(`tried ${tried.length} cross-tenant operations; all were rejected`);
      console.log(`tenant isolation (${mode}): tried ${tried.length} cross-tenant operations, all rejected`);
      assert.ok(tried.length >= 25, `only ${tried.length} operations tried`);
    });

    it('shows tenant A nothing of tenant B: roster, memory, inbox, events, routing, idempotency keys', async () => {
      const roster = await aliceA.request<any>('presence.roster');
      assert.deepEqual(
        roster.agents.map((e: any) => e.agentId).sort(),
        [aliceA.identity.agentId, bobA.identity.agentId].sort(),
      );
      const listing = await aliceA.request<any>('memory.list', { prefix: '' });
      assert.equal(
        listing.entries.some((e: any) => e.key === 'secret' || e.key === 'shared/config'),
        false,
      );
      const inbox = await bobA.request<any>('dm.fetch', { afterSeq: 0 });
      assert.equal(inbox.messages.length, 0);

      // The same idempotency key as B used yields A's own new message, not B's stored receipt.
      const gotByBob = collectDms(bobA);
      const receipt = await aliceA.request<any>(
        'dm.send',
        { to: bobA.identity.agentId, body: 'A' },
        { idempotencyKey: 'same-key' },
      );
      assert.equal(receipt.to, bobA.identity.agentId);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(gotByBob.bodies, ['A']);

      // B's task needs a capability that A's alice has; it must stay unassigned in B.
      const task = await aliceB.request<any>('task.get', { taskId: bTaskId });
      assert.deepEqual([task.task.status, task.task.assignedTo], ['pending', null]);

      // Broadcasts and presence changes of B never reach A, and the reverse.
      const before = [seenByA.length, seenByB.length];
      await aliceB.request('activity.broadcast', { data: 'B only' });
      const carol = await connectAgent(hub.wsUrl, b.key, 'carol');
      carol.close();
      await aliceA.request('activity.broadcast', { data: 'A only' });
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(seenByA.slice(before[0]), ['activity']); // bob A hears alice A, nothing from B
      assert.deepEqual(seenByB.slice(before[1]).filter((e) => e === 'activity').length, 1); // bob B hears alice B only
      assert.equal((await aliceB.request<any>('memory.get', { key: 'secret' })).value, 'B-secret');
    });
  });
}
