/*
 * Several replicas on one Postgres and one Redis: presence, direct messages, broadcasts, task routing
 * and session takeover all work across replica boundaries.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { Hub } from '../../src/hub/hub.ts';
import {
  Admin,
  closeAllClients,
  collectDms,
  connectAgent,
  eventually,
  nextEvent,
  startBacking,
  startTestHub,
  type Backing,
} from './helpers/hub-harness.ts';

describe('replicas (server)', () => {
  let backing: Backing;
  let one: Hub;
  let two: Hub;
  let tenant: { tenantId: string; fleetId: string; key: string };

  before(async () => {
    backing = await startBacking('server');
    [one, two] = await Promise.all([startTestHub(backing), startTestHub(backing)]);
    tenant = await new Admin(one.adminUrl).provision('replicated');
  });

  after(async () => {
    closeAllClients();
    await Promise.all([one?.shutdown('test finished'), two?.shutdown('test finished')]);
    await backing?.stop();
  });

  it('shows one roster across replicas and delivers DMs and broadcasts between them', async () => {
    const a = await connectAgent(one.wsUrl, tenant.key, 'on-one');
    let gotByB!: ReturnType<typeof collectDms>;
    const b = await connectAgent(two.wsUrl, tenant.key, 'on-two', { onCreate: (c) => (gotByB = collectDms(c)) });
    assert.notEqual(a.identity.replicaId, b.identity.replicaId);
    const roster = await a.request<any>('presence.roster');
    assert.deepEqual(
      roster.agents.map((e: any) => e.name),
      ['on-one', 'on-two'],
    );

    const receipts = [];
    for (let i = 0; i < 20; i++) receipts.push(await a.sendDm(b.identity.agentId, i));
    await eventually(() => assert.equal(gotByB.bodies.length, 20));
    assert.deepEqual(
      gotByB.seqs,
      receipts.map((r) => r.seq),
    );

    const heard = nextEvent(a, 'activity', (e: any) => e.activity.data === 'from two');
    await b.request('activity.broadcast', { data: 'from two' });
    assert.equal((await heard).from, b.identity.agentId);
    a.close();
    b.close();
  });

  it('routes a task submitted on one replica to a capable agent on the other', async () => {
    const submitter = await connectAgent(one.wsUrl, tenant.key, 'submitter');
    const worker = await connectAgent(two.wsUrl, tenant.key, 'worker', {
      agent: { name: 'worker', capabilities: ['render'] },
    });
    const assigned = nextEvent(worker, 'task.assigned');
    const { task } = await submitter.request<any>('task.submit', { capabilities: ['render'], payload: 'frame 1' });
    assert.equal((await assigned).id, task.id);
    const finished = nextEvent(submitter, 'task.finished');
    await worker.request('task.claim', { taskId: task.id });
    await worker.request('task.result', { taskId: task.id, result: 'done' });
    assert.equal((await finished).result, 'done');
    submitter.close();
    worker.close();
  });

  it('closes the older session with 4009 when the same agent connects to another replica', async () => {
    const first = await connectAgent(one.wsUrl, tenant.key, 'twice');
    const closedWith = new Promise<number>((resolve) => first.once('disconnected', ({ code }) => resolve(code)));
    const second = await connectAgent(two.wsUrl, tenant.key, 'twice');
    assert.equal(await closedWith, 4009);
    const roster = await second.request<any>('presence.roster');
    assert.deepEqual(
      roster.agents.filter((e: any) => e.name === 'twice').map((e: any) => e.agentId),
      [second.identity.agentId],
    );
    second.close();
  });

  it('refuses a key revoked on one replica on the other, which had it cached', async () => {
    const admin = new Admin(one.adminUrl);
    const key = await admin.createKey(tenant.tenantId, tenant.fleetId);
    // A hello on replica two caches the key there.
    (await connectAgent(two.wsUrl, key.key, 'cached-key')).close();
    const revoke = await admin.call('DELETE', `/api/admin/tenants/${tenant.tenantId}/api-keys/${key.id}`);
    assert.equal(revoke.status, 200);
    await eventually(() => assert.rejects(connectAgent(two.wsUrl, key.key, 'cached-key-again'), /unauthorized|closed/));
  });

  it('prunes the roster entry of a replica that stopped refreshing it and announces the departure', async () => {
    const watcher = await connectAgent(one.wsUrl, tenant.key, 'watcher');
    const redis = new Redis(backing.env.REDIS_URL!);
    const ghost = {
      agentId: 'ag_ghost',
      name: 'ghost',
      capabilities: [],
      tags: [],
      status: 'online',
      load: 0,
      replicaId: 'dead-replica',
      connectionId: 'conn_ghost',
      joinedAt: new Date(Date.now() - 60_000).toISOString(),
      expiresAt: Date.now() - 1,
    };
    await redis.hset(`rf:presence:${tenant.fleetId}`, 'ag_ghost', JSON.stringify(ghost));
    const left = nextEvent(watcher, 'presence.changed', (e: any) => e.left.some((l: any) => l.agentId === 'ag_ghost'));
    const roster = await watcher.request<any>('presence.roster');
    assert.equal(
      roster.agents.some((e: any) => e.agentId === 'ag_ghost'),
      false,
    );
    await left;
    assert.equal(await redis.hexists(`rf:presence:${tenant.fleetId}`, 'ag_ghost'), 0);
    redis.disconnect();
    watcher.close();
  });
});
