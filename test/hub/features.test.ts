/*
 * Every agent-facing feature against a real hub, once on the embedded stack (PGlite + in-process bus)
 * and once on real Postgres and Redis servers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import type { HubClient } from '../../src/hub/client/client.ts';
import type { Hub } from '../../src/hub/hub.ts';
import {
  Admin,
  closeAllClients,
  collectDms,
  connectAgent,
  errorCode,
  eventually,
  MODES,
  nextEvent,
  startBacking,
  startTestHub,
  type Backing,
} from './helpers/hub-harness.ts';

for (const mode of MODES) {
  describe(`hub features (${mode})`, () => {
    let backing: Backing;
    let hub: Hub;
    let admin: Admin;
    let tenant: { tenantId: string; fleetId: string; key: string };

    before(async () => {
      backing = await startBacking(mode);
      hub = await startTestHub(backing, { HUB_TASK_TIMEOUT_MS: '5000', HUB_SWEEP_INTERVAL_MS: '100' });
      admin = new Admin(hub.adminUrl);
      tenant = await admin.provision(`acme-${mode}`);
    });

    after(async () => {
      closeAllClients();
      await hub?.shutdown('test finished');
      await backing?.stop();
    });

    describe('operations endpoints', () => {
      it('answers liveness and readiness', async () => {
        const health = await fetch(`${hub.httpUrl}/api/health`);
        assert.equal(health.status, 200);
        const ready = await fetch(`${hub.httpUrl}/api/ready`);
        assert.equal(ready.status, 200);
        assert.deepEqual(((await ready.json()) as any).checks, {
          database: 'ok',
          bus: 'ok',
          primary: 'ok',
          draining: 'ok',
        });
      });

      it('exports connected agents, counters and latency histograms in Prometheus format', async () => {
        const a = await connectAgent(hub.wsUrl, tenant.key, 'metrics-a');
        await a.request('presence.roster');
        const response = await fetch(`${hub.adminUrl}/metrics`);
        assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
        const text = await response.text();
        assert.match(text, /^hub_connected_agents\{replica="[^"]+"\} [1-9]\d*$/m);
        assert.match(text, /^# TYPE hub_messages_total counter$/m);
        assert.match(text, /^# TYPE hub_tasks_total counter$/m);
        // Recorded once, in whichever bucket its time fell (a busy machine makes it slower).
        assert.match(
          text,
          /^hub_request_duration_seconds_bucket\{le="\+Inf",[^}]*type="presence.roster",outcome="ok"\} 1$/m,
        );
        assert.match(text, /^hub_request_duration_seconds_count\{[^}]*type="presence.roster",outcome="ok"\} 1$/m);
        a.close();
      });
    });

    describe('protocol and authentication', () => {
      it('refuses an unknown API key with unauthorized and close code 4001', async () => {
        const ws = new WebSocket(hub.wsUrl);
        await new Promise((resolve) => ws.once('open', resolve));
        const frames: any[] = [];
        ws.on('message', (data) => frames.push(JSON.parse(data.toString())));
        ws.send(
          JSON.stringify({
            type: 'hello',
            id: 'h1',
            payload: { apiKey: `rf_${'A'.repeat(43)}`, agent: { name: 'x' } },
          }),
        );
        const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
        assert.equal(code, 4001);
        assert.deepEqual(frames[0].id, 'h1');
        assert.equal(frames[0].error.code, 'unauthorized');
      });

      it('answers requests before hello with unauthenticated, echoing the request id', async () => {
        const ws = new WebSocket(hub.wsUrl);
        await new Promise((resolve) => ws.once('open', resolve));
        ws.send(JSON.stringify({ type: 'memory.get', id: 'req-42', payload: { key: 'k' } }));
        const reply = await new Promise<any>((resolve) => ws.once('message', (d) => resolve(JSON.parse(d.toString()))));
        assert.deepEqual(reply, {
          type: 'reply',
          id: 'req-42',
          ok: false,
          error: { code: 'unauthenticated', message: 'send hello with an API key first' },
        });
        ws.close();
      });

      it('refuses a revoked key', async () => {
        const key = await admin.createKey(tenant.tenantId, tenant.fleetId);
        const revoke = await admin.call('DELETE', `/api/admin/tenants/${tenant.tenantId}/api-keys/${key.id}`);
        assert.equal(revoke.status, 200);
        await assert.rejects(connectAgent(hub.wsUrl, key.key, 'revoked'), /unauthorized|closed/);
      });
    });

    describe('presence', () => {
      it('shows the fleet roster and announces joins and leaves', async () => {
        const a = await connectAgent(hub.wsUrl, tenant.key, 'roster-a', {
          agent: { name: 'roster-a', capabilities: ['x'] },
        });
        const joined = nextEvent(a, 'presence.changed', (e: any) => e.joined.some((j: any) => j.name === 'roster-b'));
        const b = await connectAgent(hub.wsUrl, tenant.key, 'roster-b');
        const named = (await joined).joined.find((j: any) => j.name === 'roster-b');
        assert.equal(named.agentId, b.identity.agentId);
        await b.request('heartbeat', { load: 7, status: 'busy' });
        const roster = await a.request<any>('presence.roster');
        const entryB = roster.agents.find((e: any) => e.name === 'roster-b');
        assert.deepEqual([entryB.load, entryB.status], [7, 'busy']);
        assert.deepEqual(roster.agents.find((e: any) => e.name === 'roster-a').capabilities, ['x']);
        const left = nextEvent(a, 'presence.changed', (e: any) => e.left.some((l: any) => l.name === 'roster-b'));
        b.close();
        await left;
        const after = await a.request<any>('presence.roster');
        assert.equal(
          after.agents.some((e: any) => e.name === 'roster-b'),
          false,
        );
        a.close();
      });

      it('announces a burst of joins in a few batched events, not one per agent', async () => {
        const watcher = await connectAgent(hub.wsUrl, tenant.key, 'watcher-of-burst');
        const seen = new Set<string>();
        let events = 0;
        watcher.on('event', (name, payload: any) => {
          if (name !== 'presence.changed') return;
          events++;
          for (const member of payload.joined) if (member.name.startsWith('burst-')) seen.add(member.name);
        });
        const names = Array.from({ length: 30 }, (_, i) => `burst-${i}`);
        const burst = await Promise.all(names.map((name) => connectAgent(hub.wsUrl, tenant.key, name)));
        for (let waited = 0; seen.size < names.length && waited < 5_000; waited += 50) await sleep(50);
        assert.deepEqual([...seen].sort(), [...names].sort());
        // 30 joins within a few 250 ms windows: far fewer events than agents.
        assert.ok(events <= 5, `${events} presence events for ${names.length} joins`);
        for (const agent of [...burst, watcher]) agent.close();
      });

      // Which joins share a window depends on how fast the crowd connects; the unit tests pin the
      // batching itself. Here: whatever the windows, the watcher learns of every join.
      it('tells a watcher of a crowd joining, listing at most 50 changes per event and resync beyond', async () => {
        const watcher = await connectAgent(hub.wsUrl, tenant.key, 'watcher-of-crowd');
        const events: { joined: { name: string }[]; left: unknown[]; resync: boolean }[] = [];
        watcher.on('event', (name: string, payload: any) => {
          if (name === 'presence.changed') events.push(payload);
        });
        const names = Array.from({ length: 120 }, (_, i) => `crowd-${i}`);
        const crowd = await Promise.all(names.map((name) => connectAgent(hub.wsUrl, tenant.key, name)));
        await eventually(() => {
          const listed = new Set(events.flatMap((e) => e.joined.map((m) => m.name)));
          assert.ok(
            events.some((e) => e.resync) || names.every((name) => listed.has(name)),
            'neither a resync nor every join listed',
          );
        });
        for (const e of events) {
          assert.ok(e.joined.length + e.left.length <= 50, 'an event lists more than 50 changes');
          if (e.resync) assert.deepEqual([e.joined, e.left], [[], []]);
        }
        for (const agent of [...crowd, watcher]) agent.close();
      });
    });

    describe('direct messages', () => {
      it('delivers live with per-recipient sequence numbers', async () => {
        const a = await connectAgent(hub.wsUrl, tenant.key, 'dm-live-a');
        const b = await connectAgent(hub.wsUrl, tenant.key, 'dm-live-b');
        const got = collectDms(b);
        const first = await a.sendDm(b.identity.agentId, { text: 'hello' });
        const second = await a.sendDm(b.identity.agentId, 'again');
        assert.equal(second.seq, first.seq + 1);
        await eventually(() => assert.deepEqual(got.bodies, [{ text: 'hello' }, 'again']));
        assert.deepEqual(got.seqs, [first.seq, second.seq]);
        a.close();
        b.close();
      });

      it('queues for an offline agent and delivers in order on reconnect; acknowledged messages are not redelivered', async () => {
        const a = await connectAgent(hub.wsUrl, tenant.key, 'dm-q-a');
        const b1 = await connectAgent(hub.wsUrl, tenant.key, 'dm-q-b');
        const bId = b1.identity.agentId;
        const firstRun = collectDms(b1);
        await a.sendDm(bId, 0);
        await eventually(() => assert.equal(firstRun.seqs.length, 1));
        await eventually(async () => {
          const agents = (await admin.listAgents(tenant.tenantId)).agents;
          assert.ok(agents.some((x) => x.id === bId));
        });
        await new Promise((r) => setTimeout(r, 100)); // let the batched ack reach the hub
        b1.close();
        for (let i = 1; i <= 30; i++) await a.sendDm(bId, i);
        let secondRun!: ReturnType<typeof collectDms>;
        const b2 = await connectAgent(hub.wsUrl, tenant.key, 'dm-q-b', {
          lastSeq: 0,
          onCreate: (c) => (secondRun = collectDms(c)),
        });
        await eventually(() => assert.equal(secondRun.bodies.length, 30));
        assert.deepEqual(
          secondRun.bodies,
          Array.from({ length: 30 }, (_, i) => i + 1),
        );
        assert.deepEqual(
          secondRun.seqs,
          Array.from({ length: 30 }, (_, i) => firstRun.seqs[0]! + i + 1),
        );
        a.close();
        b2.close();
      });

      it('redelivers unacknowledged messages and the client drops duplicates by seq', async () => {
        const a = await connectAgent(hub.wsUrl, tenant.key, 'dm-dup-a');
        const b = await connectAgent(hub.wsUrl, tenant.key, 'dm-dup-b', { ackDelayMs: 60_000 });
        const got = collectDms(b);
        for (let i = 0; i < 5; i++) await a.sendDm(b.identity.agentId, i);
        await eventually(() => assert.equal(got.seqs.length, 5));
        // A new connection that claims to have seen nothing gets all five again: none was acknowledged.
        let replayed!: ReturnType<typeof collectDms>;
        const again = await connectAgent(hub.wsUrl, tenant.key, 'dm-dup-b', {
          lastSeq: 0,
          onCreate: (c) => (replayed = collectDms(c)),
        });
        await eventually(() => assert.equal(replayed.seqs.length, 5));
        assert.deepEqual(replayed.seqs, got.seqs);
        const fetched = await again.request<any>('dm.fetch', { afterSeq: got.seqs[2]! });
        assert.deepEqual(
          fetched.messages.map((m: any) => m.body),
          [3, 4],
        );
        a.close();
        again.close();
      });

      it('applies a repeated idempotency key once and returns the same receipt', async () => {
        const a = await connectAgent(hub.wsUrl, tenant.key, 'dm-idem-a');
        const b = await connectAgent(hub.wsUrl, tenant.key, 'dm-idem-b');
        const got = collectDms(b);
        const one = await a.request<any>(
          'dm.send',
          { to: b.identity.agentId, body: 'once' },
          { idempotencyKey: 'k-1' },
        );
        const two = await a.request<any>(
          'dm.send',
          { to: b.identity.agentId, body: 'once' },
          { idempotencyKey: 'k-1' },
        );
        assert.deepEqual(two, one);
        await new Promise((r) => setTimeout(r, 150));
        assert.deepEqual(got.bodies, ['once']);
        const reused = await errorCode(a.request('memory.set', { key: 'x', value: 1 }, { idempotencyKey: 'k-1' }));
        assert.equal(reused.code, 'idempotency_key_reused');
        // The same key at another agent is refused, and no message reaches that agent.
        const c = await connectAgent(hub.wsUrl, tenant.key, 'dm-idem-c');
        const gotByC = collectDms(c);
        const elsewhere = await errorCode(
          a.request('dm.send', { to: c.identity.agentId, body: 'forged' }, { idempotencyKey: 'k-1' }),
        );
        assert.equal(elsewhere.code, 'idempotency_key_reused');
        // A replay of the first request with another body notifies the stored message, not the new body.
        await a.request('dm.send', { to: b.identity.agentId, body: 'other body' }, { idempotencyKey: 'k-1' });
        await new Promise((r) => setTimeout(r, 150));
        assert.deepEqual(gotByC.bodies, []);
        assert.deepEqual(got.bodies, ['once']);
        a.close();
        b.close();
        c.close();
      });

      it('rejects a recipient that does not exist and acks beyond the last message', async () => {
        const a = await connectAgent(hub.wsUrl, tenant.key, 'dm-err-a');
        assert.equal((await errorCode(a.request('dm.send', { to: 'ag_nobody', body: 1 }))).code, 'not_found');
        assert.equal((await errorCode(a.request('dm.ack', { seq: 1_000_000 }))).code, 'invalid_request');
        a.close();
      });
    });

    describe('fleet broadcast', () => {
      it('fans activity out to every other agent of the fleet', async () => {
        const a = await connectAgent(hub.wsUrl, tenant.key, 'bc-a');
        const b = await connectAgent(hub.wsUrl, tenant.key, 'bc-b');
        const c = await connectAgent(hub.wsUrl, tenant.key, 'bc-c');
        const atB = nextEvent(b, 'activity', (e: any) => e.activity.data.step === 1);
        const atC = nextEvent(c, 'activity', (e: any) => e.activity.data.step === 1);
        let echoed = false;
        a.on('event', (name) => (echoed ||= name === 'activity'));
        await a.request('activity.broadcast', { kind: 'progress', data: { step: 1 }, tags: ['build'] });
        const [eb, ec] = await Promise.all([atB, atC]);
        assert.deepEqual([eb.fromName, eb.activity.kind, eb.activity.tags], ['bc-a', 'progress', ['build']]);
        assert.equal(ec.from, a.identity.agentId);
        assert.equal(echoed, false);
        a.close();
        b.close();
        c.close();
      });
    });

    describe('memory', () => {
      it('sets, gets, lists by prefix with paging, compares versions and deletes', async () => {
        const a = await connectAgent(hub.wsUrl, tenant.key, 'mem-a');
        const b = await connectAgent(hub.wsUrl, tenant.key, 'mem-b');
        for (const key of ['cfg/a', 'cfg/b', 'cfg/c', 'other']) await a.request('memory.set', { key, value: { key } });
        const got = await b.request<any>('memory.get', { key: 'cfg/b' });
        assert.deepEqual([got.value, got.version, got.updatedBy], [{ key: 'cfg/b' }, 1, a.identity.agentId]);
        const page1 = await b.request<any>('memory.list', { prefix: 'cfg/', limit: 2 });
        assert.deepEqual(
          page1.entries.map((e: any) => e.key),
          ['cfg/a', 'cfg/b'],
        );
        const page2 = await b.request<any>('memory.list', { prefix: 'cfg/', limit: 2, after: page1.next });
        assert.deepEqual([page2.entries.map((e: any) => e.key), page2.next], [['cfg/c'], undefined]);
        const v2 = await b.request<any>('memory.set', { key: 'cfg/a', value: 2, ifVersion: 1 });
        assert.equal(v2.version, 2);
        assert.equal(
          (await errorCode(b.request('memory.set', { key: 'cfg/a', value: 3, ifVersion: 1 }))).code,
          'conflict',
        );
        assert.equal(
          (await errorCode(b.request('memory.set', { key: 'cfg/a', value: 3, ifVersion: 0 }))).code,
          'conflict',
        );
        assert.deepEqual(await a.request('memory.delete', { key: 'cfg/a' }), { key: 'cfg/a', deleted: true });
        assert.deepEqual(await a.request('memory.delete', { key: 'cfg/a' }), { key: 'cfg/a', deleted: false });
        assert.equal((await errorCode(a.request('memory.get', { key: 'cfg/a' }))).code, 'not_found');
        a.close();
        b.close();
      });

      it('stores values JSON cannot carry in jsonb (NUL escapes, deep nesting) unchanged', async () => {
        const a = await connectAgent(hub.wsUrl, tenant.key, 'mem-odd');
        const value = { text: 'a\u0000b', nested: [[[{ emoji: '🦀' }]]] };
        await a.request('memory.set', { key: 'odd', value });
        assert.deepEqual((await a.request<any>('memory.get', { key: 'odd' })).value, value);
        a.close();
      });
    });

    describe('tasks', () => {
      it('routes to a capable online agent with the lowest load, then claim and result reach the submitter', async () => {
        const submitter = await connectAgent(hub.wsUrl, tenant.key, 'task-sub');
        const busy = await connectAgent(hub.wsUrl, tenant.key, 'task-w1', {
          agent: { name: 'task-w1', capabilities: ['gpu', 'py'] },
        });
        const idle = await connectAgent(hub.wsUrl, tenant.key, 'task-w2', {
          agent: { name: 'task-w2', capabilities: ['gpu', 'py'] },
        });
        const incapable = await connectAgent(hub.wsUrl, tenant.key, 'task-w3', {
          agent: { name: 'task-w3', capabilities: ['py'] },
        });
        let incapableGotOne = false;
        incapable.on('event', (name) => (incapableGotOne ||= name === 'task.assigned'));
        await busy.request('heartbeat', { load: 5 });
        await idle.request('heartbeat', { load: 1 });

        const assigned = nextEvent(idle, 'task.assigned');
        const { task } = await submitter.request<any>('task.submit', { capabilities: ['gpu'], payload: { job: 1 } });
        assert.equal(task.assignedTo, idle.identity.agentId);
        assert.deepEqual((await assigned).payload, { job: 1 });

        // The idle agent now has one active task, so the next one goes to the other capable agent.
        const second = await submitter.request<any>('task.submit', { capabilities: ['gpu'], payload: { job: 2 } });
        assert.equal(second.task.assignedTo, busy.identity.agentId);
        assert.equal(incapableGotOne, false);

        assert.equal((await errorCode(busy.request('task.claim', { taskId: task.id }))).code, 'conflict');
        const claimed = await idle.request<any>('task.claim', { taskId: task.id });
        assert.equal(claimed.task.status, 'claimed');
        const finished = nextEvent(submitter, 'task.finished', (t: any) => t.id === task.id);
        await idle.request('task.result', { taskId: task.id, result: { answer: 42 } }, { idempotencyKey: 'res-1' });
        const done = await finished;
        assert.deepEqual([done.status, done.result], ['completed', { answer: 42 }]);
        const fetched = await submitter.request<any>('task.get', { taskId: task.id });
        assert.equal(fetched.task.status, 'completed');
        assert.equal((await errorCode(idle.request('task.result', { taskId: task.id, result: 1 }))).code, 'conflict');
        for (const c of [submitter, busy, idle, incapable]) c.close();
      });

      it('waits for a capable agent, and reassigns after a timeout to another agent', async () => {
        const submitter = await connectAgent(hub.wsUrl, tenant.key, 'tt-sub');
        const { task } = await submitter.request<any>('task.submit', {
          capabilities: ['rare'],
          payload: 'p',
          timeoutMs: 300,
          maxAttempts: 2,
        });
        assert.equal(task.status, 'pending');
        let first!: Promise<any>;
        const slow = await connectAgent(hub.wsUrl, tenant.key, 'tt-slow', {
          agent: { name: 'tt-slow', capabilities: ['rare'] },
          onCreate: (c) => (first = nextEvent(c, 'task.assigned', (t) => t.id === task.id)),
        });
        // Joining routes the waiting task to the new agent, which never answers.
        assert.equal((await first).attempts, 1);
        let second!: Promise<any>;
        const fast = await connectAgent(hub.wsUrl, tenant.key, 'tt-fast', {
          agent: { name: 'tt-fast', capabilities: ['rare'] },
          onCreate: (c) => (second = nextEvent(c, 'task.assigned', (t) => t.id === task.id)),
        });
        assert.equal((await second).attempts, 2);
        await fast.request('task.claim', { taskId: task.id });
        assert.equal((await errorCode(slow.request('task.claim', { taskId: task.id }))).code, 'conflict');
        // The second attempt times out too, which exhausts maxAttempts: the task fails and the submitter hears of it.
        const failed = await nextEvent<any>(submitter, 'task.finished', (t) => t.id === task.id, 5_000);
        assert.equal(failed.status, 'failed');
        assert.match(failed.error, /timed out after 2 attempt/);
        for (const c of [submitter, slow, fast]) c.close();
      });
    });

    describe('limits', () => {
      let agent: HubClient;
      before(async () => {
        agent = await connectAgent(hub.wsUrl, tenant.key, 'limits');
      });
      after(() => agent.close());

      const cases: Array<[string, string, () => [string, object]]> = [
        ['memory key of 501 characters', 'memory_key', () => ['memory.set', { key: 'k'.repeat(501), value: 1 }]],
        ['memory key with a non-printable character', 'memory_key', () => ['memory.get', { key: 'a\tb' }]],
        // A value over 1 MB cannot travel in a frame of at most 1 MB, so the frame rule answers first.
        ['memory value over 1 MB', 'frame_size', () => ['memory.set', { key: 'big', value: 'x'.repeat(1_048_577) }]],
        ['message over 100 KB', 'message_size', () => ['dm.send', { to: 'ag_x', body: 'x'.repeat(102_400) }]],
        ['broadcast over 100 KB', 'message_size', () => ['activity.broadcast', { data: 'x'.repeat(102_400) }]],
        [
          '21 tags',
          'tags',
          () => ['activity.broadcast', { data: 1, tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }],
        ],
        ['a tag of 51 characters', 'tags', () => ['activity.broadcast', { data: 1, tags: ['t'.repeat(51)] }]],
        [
          '21 required capabilities',
          'tags',
          () => ['task.submit', { capabilities: Array.from({ length: 21 }, (_, i) => `c${i}`), payload: 1 }],
        ],
      ];
      for (const [what, rule, make] of cases) {
        it(`rejects a ${what} naming rule ${rule}`, async () => {
          const [type, payload] = make();
          const error = await errorCode(agent.request(type, payload));
          assert.deepEqual([error.code, error.rule], ['limit_exceeded', rule]);
          assert.match(error.message, new RegExp(`rule ${rule}`));
        });
      }

      it('rejects an agent name of 101 characters naming rule agent_name', async () => {
        await assert.rejects(connectAgent(hub.wsUrl, tenant.key, 'n'.repeat(101), { maxReconnectAttempts: 1 }));
        const ws = new WebSocket(hub.wsUrl);
        await new Promise((resolve) => ws.once('open', resolve));
        ws.send(
          JSON.stringify({ type: 'hello', id: 'h', payload: { apiKey: tenant.key, agent: { name: 'n'.repeat(101) } } }),
        );
        const reply = await new Promise<any>((resolve) => ws.once('message', (d) => resolve(JSON.parse(d.toString()))));
        assert.deepEqual([reply.error.code, reply.error.rule], ['limit_exceeded', 'agent_name']);
        ws.close();
      });

      it('answers a frame over 1 MB naming rule frame_size and keeps the connection', async () => {
        const ws = new WebSocket(hub.wsUrl);
        await new Promise((resolve) => ws.once('open', resolve));
        const replies: any[] = [];
        ws.on('message', (d) => replies.push(JSON.parse(d.toString())));
        ws.send(JSON.stringify({ type: 'hello', id: 'big', payload: { pad: 'x'.repeat(1_048_576) } }));
        ws.send(JSON.stringify({ type: 'nope.nope', id: 'after' }));
        await eventually(() => assert.equal(replies.length, 2));
        assert.deepEqual(
          [replies[0].error.code, replies[0].error.rule, replies[0].id],
          ['limit_exceeded', 'frame_size', 'big'],
        );
        // Before hello every request but hello is unauthenticated, whatever its type.
        assert.deepEqual([replies[1].id, replies[1].error.code], ['after', 'unauthenticated']);
        ws.close();
      });
    });

    describe('rate limits (defaults: 100 messages, 20 tasks, 50 memory writes per minute)', () => {
      for (const [rule, limit, make] of [
        ['rate_messages', 100, (i: number) => ['activity.broadcast', { data: i }]],
        ['rate_tasks', 20, (i: number) => ['task.submit', { capabilities: ['none-such'], payload: i }]],
        ['rate_memory_writes', 50, (i: number) => ['memory.set', { key: `rl/${i}`, value: i }]],
      ] as const) {
        it(`allows ${limit} per minute and then answers rate_limited naming ${rule}`, async () => {
          const agent = await connectAgent(hub.wsUrl, tenant.key, `rl-${rule}`);
          const results = await Promise.allSettled(
            Array.from({ length: limit + 1 }, (_, i) => agent.request(...(make(i) as [string, object]))),
          );
          assert.equal(results.filter((r) => r.status === 'fulfilled').length, limit);
          const rejected = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
          assert.equal(rejected.length, 1);
          assert.deepEqual([rejected[0]!.reason.code, rejected[0]!.reason.rule], ['rate_limited', rule]);
          assert.ok(rejected[0]!.reason.retryAfterMs > 0);
          agent.close();
        });
      }
    });

    describe('admin API', () => {
      it('requires the admin token', async () => {
        assert.equal((await admin.call('GET', '/api/admin/tenants', undefined, null)).status, 401);
        assert.equal((await admin.call('GET', '/api/admin/tenants', undefined, 'wrong-token')).status, 401);
      });

      it('creates tenants, fleets and keys, validates names, and lists agents with their presence', async () => {
        const dup = await admin.call('POST', '/api/admin/tenants', { name: `acme-${mode}` });
        assert.equal(dup.status, 409);
        const bad = await admin.call('POST', '/api/admin/tenants', { name: '' });
        assert.equal(bad.status, 400);
        assert.match(bad.body.error, /^name: /);
        const key = await admin.call(
          'POST',
          `/api/admin/tenants/${tenant.tenantId}/fleets/${tenant.fleetId}/api-keys`,
          {},
        );
        assert.match(key.body.key, /^rf_[A-Za-z0-9_-]{43}$/);
        const online = await connectAgent(hub.wsUrl, key.body.key, 'admin-listed');
        await eventually(async () => {
          const { agents } = await admin.listAgents(tenant.tenantId);
          const listed = agents.find((a) => a.name === 'admin-listed');
          assert.equal(listed?.online, true);
        });
        online.close();
      });
    });
  });
}
