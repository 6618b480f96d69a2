/*
 * The protocol as an attacker uses it: payloads built to poison a recipient's queue, text Postgres
 * cannot store, fresh agent names to escape rate limits, key guessing, connection floods, forged
 * forwarding headers, one tenant's backlog against another's tasks. Each limit binds to something
 * the client cannot choose (its key, its tenant, its address), and nothing answers `internal`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Hub } from '../../src/hub/hub.ts';
import {
  Admin,
  ADMIN_TOKEN,
  closeAllClients,
  collectDms,
  connectAgent,
  eventually,
  MODES,
  nextEvent,
  startBacking,
  startTestHub,
  type Backing,
} from './helpers/hub-harness.ts';
import { helloRaw, nested, openRaw, type RawSession } from './helpers/raw-ws.ts';

const internalErrors = async (hub: Hub) =>
  (await hub.services.metrics.registry.getMetricsAsJSON())
    .filter((m) => m.name === 'hub_internal_errors_total' || m.name === 'hub_protocol_errors_total')
    .flatMap((m) => m.values)
    .filter((v) => v.labels.where !== undefined || v.labels.code === 'internal')
    .reduce((sum, v) => sum + v.value, 0);

for (const mode of MODES) {
  describe(`hostile protocol use (${mode})`, () => {
    let backing: Backing;
    let hub: Hub;
    let admin: Admin;
    const sockets: RawSession[] = [];
    const raw = async (...args: Parameters<typeof openRaw>) => {
      const session = await openRaw(...args);
      sockets.push(session);
      return session;
    };
    const hello = async (...args: Parameters<typeof helloRaw>) => {
      const result = await helloRaw(...args);
      sockets.push(result.session);
      return result;
    };

    before(async () => {
      backing = await startBacking(mode);
      hub = await startTestHub(backing, {
        HUB_KEY_RATE_MESSAGES_PER_MIN: '50',
        HUB_RATE_TASKS_PER_MIN: '1000',
        HUB_KEY_RATE_TASKS_PER_MIN: '1000',
        HUB_MAX_AGENTS_PER_KEY: '30',
        HUB_MAX_CONNECTIONS_PER_ADDRESS: '40',
        HUB_MAX_CONNECTIONS_PER_KEY: '25',
        HUB_AUTH_FAILURES_PER_MIN: '5',
        HUB_TRUSTED_PROXIES: '127.0.0.1',
        HUB_SWEEP_INTERVAL_MS: '100',
      });
      admin = new Admin(hub.adminUrl);
    });

    after(async () => {
      for (const session of sockets) session.ws.terminate();
      closeAllClients();
      assert.equal(await internalErrors(hub), 0, 'something failed internally');
      await hub?.shutdown('test finished');
      await backing?.stop();
    });

    describe('payloads', () => {
      it('refuses JSON nested beyond 64 levels at parse time, so no poison DM is stored', async () => {
        const tenant = await admin.provision(`deep-${mode}`);
        let got!: ReturnType<typeof collectDms>;
        const receiver = await connectAgent(hub.wsUrl, tenant.key, 'deep-receiver', {
          onCreate: (c) => (got = collectDms(c)),
        });
        const { session } = await hello(hub.wsUrl, tenant.key, 'deep-sender');
        const to = receiver.identity.agentId;
        // The envelope and the payload are two levels: a body of 62 fills the frame's 64.
        const fits = await session.request('dm.send', { to, body: nested(62) });
        assert.equal(fits.ok, true);
        for (const depth of [63, 5_000]) {
          // written by hand: serializing it would overflow this side's stack as well
          session.send(
            `{"type":"dm.send","id":"deep${depth}","payload":{"to":"${to}","body":${'['.repeat(depth)}${']'.repeat(depth)}}}`,
          );
          const refused = await session.reply(`deep${depth}`);
          assert.deepEqual([refused.error.code, refused.error.rule], ['limit_exceeded', 'json_depth']);
        }
        const memory = await session.request('memory.set', { key: 'deep', value: nested(100) });
        assert.equal(memory.error.rule, 'json_depth');
        const last = await session.request('dm.send', { to, body: 'after' });
        // then the recipient has every acknowledged message, without a gap
        await eventually(() => assert.deepEqual(got.seqs, [fits.payload.seq, last.payload.seq]));
        assert.deepEqual([fits.payload.seq, last.payload.seq], [1, 2]);
        assert.deepEqual(got.bodies, [nested(62), 'after']);
        const fetched = await receiver.request<any>('dm.fetch', { afterSeq: 0 });
        assert.deepEqual(
          fetched.messages.map((m: any) => m.seq),
          [1, 2],
        );
      });

      it('refuses control characters and unpaired surrogates in text fields with a client error', async () => {
        const tenant = await admin.provision(`text-${mode}`);
        const { session } = await hello(hub.wsUrl, tenant.key, 'texter');
        const broadcast = await session.request('activity.broadcast', { kind: 'a\u0000b', data: 1 });
        assert.equal(broadcast.error.code, 'invalid_request');
        assert.match(broadcast.error.message, /^payload\.kind: text fields hold no control characters/);
        const task = await session.request('task.submit', { capabilities: [], payload: 1 });
        const result = await session.request('task.result', { taskId: task.payload.task.id, error: 'bad\u0000' });
        assert.match(result.error.message, /^payload\.error: /);
        const name = await (await raw(hub.wsUrl)).request('hello', { apiKey: tenant.key, agent: { name: 'x\ud800' } });
        assert.deepEqual([name.error.code, name.error.rule], ['limit_exceeded', 'agent_name']);
        const listed = await admin.call('GET', `/api/admin/tenants/${tenant.tenantId}/agents?fleetId=flt_%00`);
        assert.deepEqual([listed.status, listed.body.error], [400, 'fleetId: must be a fleet id (flt_…)']);
        const unknown = await admin.call('POST', '/api/admin/tenants', { name: 'ok', plan: 'gold' });
        assert.deepEqual([unknown.status, unknown.body.error], [400, 'body: unknown field(s) plan']);
      });
    });

    describe('limits bound to the key, the tenant and the address', () => {
      it('counts messages of every agent of a key against the key: new agent names gain nothing', async () => {
        const tenant = await admin.provision(`names-${mode}`);
        const senders = await Promise.all(
          Array.from({ length: 10 }, (_, i) => hello(hub.wsUrl, tenant.key, `fresh-${i}`)),
        );
        const replies = await Promise.all(
          senders.flatMap(({ session }) =>
            Array.from({ length: 10 }, (_, i) => session.request('activity.broadcast', { data: i })),
          ),
        );
        const accepted = replies.filter((r) => r.ok).length;
        // 50 per minute per key (a token may refill while the hundred requests run)
        assert.ok(accepted >= 50 && accepted <= 52, `${accepted} broadcasts accepted`);
        const refusal = replies.find((r) => !r.ok).error;
        assert.deepEqual([refusal.code, refusal.rule, refusal.scope], ['rate_limited', 'rate_messages', 'key']);
        for (const { session } of senders) session.ws.close();
      });

      it('gives an honest retryAfterMs: waiting it out is enough', async () => {
        const tenant = await admin.provision(`retry-${mode}`);
        const { session } = await hello(hub.wsUrl, tenant.key, 'patient');
        // 600 requests per minute per agent: a minute's worth at once, then one every 100 ms
        let refused: any;
        for (let i = 0; i < 700 && refused === undefined; i++) {
          const reply = await session.request('heartbeat', {});
          if (!reply.ok) refused = reply.error;
        }
        assert.deepEqual([refused?.rule, refused?.scope], ['rate_requests', 'agent']);
        assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 100, `retryAfterMs ${refused.retryAfterMs}`);
        await new Promise((r) => setTimeout(r, refused.retryAfterMs));
        assert.equal((await session.request('heartbeat', {})).ok, true);
        assert.equal((await session.request('heartbeat', {})).error?.rule, 'rate_requests');
        session.ws.close();
      });

      it('caps the agents one key creates, while known agents still connect', async () => {
        const tenant = await admin.provision(`agents-${mode}`);
        for (let i = 0; i < 30; i++) {
          const { session, hello: reply } = await hello(hub.wsUrl, tenant.key, `minted-${i}`);
          assert.equal(reply.ok, true, JSON.stringify(reply));
          session.ws.close();
        }
        const { session, hello: refused } = await hello(hub.wsUrl, tenant.key, 'minted-30');
        assert.deepEqual([refused.error.code, refused.error.rule], ['limit_exceeded', 'agents_per_key']);
        assert.equal((await session.request('hello', { apiKey: tenant.key, agent: { name: 'minted-7' } })).ok, true);
      });

      it('caps connections per address before the handshake completes', async () => {
        const localAddress = '127.0.0.5';
        const held = await Promise.all(Array.from({ length: 40 }, () => raw(hub.wsUrl, { localAddress })));
        await assert.rejects(raw(hub.wsUrl, { localAddress }), (e: any) => e.status === 429);
        await raw(hub.wsUrl, { localAddress: '127.0.0.6' }); // another address is unaffected
        held[0]!.ws.close();
        await held[0]!.closed;
        await eventually(async () => {
          await raw(hub.wsUrl, { localAddress });
        });
      });

      it('caps sessions per key, closing the one over the cap with 4029', async () => {
        const tenant = await admin.provision(`sessions-${mode}`);
        for (let i = 0; i < 25; i++) {
          const { hello: reply } = await hello(hub.wsUrl, tenant.key, `held-${i}`, { localAddress: '127.0.0.7' });
          assert.equal(reply.ok, true);
        }
        const { session, hello: refused } = await hello(hub.wsUrl, tenant.key, 'held-25', {
          localAddress: '127.0.0.8',
        });
        assert.deepEqual([refused.error.code, refused.error.rule], ['limit_exceeded', 'connections']);
        assert.match(refused.error.message, /connections_per_key/);
        assert.equal((await session.closed).code, 4029);
      });

      it('throttles failed hellos per address: after 5, even the right key waits', async () => {
        const tenant = await admin.provision(`guess-${mode}`);
        const localAddress = '127.0.0.9';
        for (let i = 0; i < 5; i++) {
          const { session, hello: reply } = await hello(hub.wsUrl, `rf_${String(i).repeat(43)}`, 'guesser', {
            localAddress,
          });
          assert.equal(reply.error.code, 'unauthorized');
          assert.equal((await session.closed).code, 4001);
        }
        const { session, hello: throttled } = await hello(hub.wsUrl, tenant.key, 'guesser', { localAddress });
        assert.deepEqual(
          [throttled.error.code, throttled.error.rule, throttled.error.scope],
          ['rate_limited', 'auth_failures', 'address'],
        );
        assert.ok(throttled.error.retryAfterMs > 0 && throttled.error.retryAfterMs <= 12_000);
        assert.equal((await session.closed).code, 4029);
        const other = await hello(hub.wsUrl, tenant.key, 'guesser', { localAddress: '127.0.0.10' });
        assert.equal(other.hello.ok, true);
      });

      it('believes X-Forwarded-For only from a trusted proxy', async () => {
        const tenant = await admin.provision(`proxied-${mode}`);
        const wrongKey = `rf_${'Z'.repeat(43)}`;
        // given a client that forges the header from an untrusted address, its failures count against that address
        for (let i = 0; i < 5; i++) {
          await hello(hub.wsUrl, wrongKey, 'forger', {
            localAddress: '127.0.0.11',
            headers: { 'x-forwarded-for': `198.51.100.${i}` },
          });
        }
        const forged = await hello(hub.wsUrl, tenant.key, 'forger', {
          localAddress: '127.0.0.11',
          headers: { 'x-forwarded-for': '198.51.100.99' },
        });
        assert.equal(forged.hello.error?.rule, 'auth_failures');
        // and through the trusted proxy (127.0.0.1) each forwarded client has its own allowance
        for (let i = 0; i < 5; i++) {
          await hello(hub.wsUrl, wrongKey, 'behind', { headers: { 'x-forwarded-for': '203.0.113.50, 198.51.100.7' } });
        }
        const same = await hello(hub.wsUrl, tenant.key, 'behind', {
          headers: { 'x-forwarded-for': '10.9.9.9, 198.51.100.7' },
        });
        assert.equal(same.hello.error?.rule, 'auth_failures');
        const other = await hello(hub.wsUrl, tenant.key, 'behind', { headers: { 'x-forwarded-for': '198.51.100.8' } });
        assert.equal(other.hello.ok, true);
      });

      it('throttles wrong admin tokens per address, even before the right one', async () => {
        const from = (address: string, token: string) =>
          fetch(`${hub.adminUrl}/api/admin/tenants`, {
            headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': address },
          });
        for (let i = 0; i < 5; i++) assert.equal((await from('198.51.100.30', `wrong-${i}`)).status, 401);
        const throttled = await from('198.51.100.30', ADMIN_TOKEN);
        assert.equal(throttled.status, 429);
        assert.ok(Number(throttled.headers.get('retry-after')) >= 1);
        assert.equal((await from('198.51.100.31', ADMIN_TOKEN)).status, 200);
      });
    });

    describe('fairness and memory', () => {
      it("retries another tenant's timed-out task while one tenant parks tasks nobody can take", async () => {
        const parked = await admin.provision(`parker-${mode}`);
        const { session: parker } = await hello(hub.wsUrl, parked.key, 'parker');
        for (let i = 0; i < 150; i++) {
          assert.equal((await parker.request('task.submit', { capabilities: ['nobody'], payload: i })).ok, true);
        }
        const tenant = await admin.provision(`worker-${mode}`);
        const submitter = await connectAgent(hub.wsUrl, tenant.key, 'submitter');
        const first = await connectAgent(hub.wsUrl, tenant.key, 'worker-a', {
          agent: { name: 'worker-a', capabilities: ['work'] },
        });
        const second = await connectAgent(hub.wsUrl, tenant.key, 'worker-b', {
          agent: { name: 'worker-b', capabilities: ['work'] },
        });
        const assignments = [
          nextEvent(first, 'task.assigned', () => true, 10_000),
          nextEvent(second, 'task.assigned', () => true, 10_000),
        ];
        const { task } = await submitter.request<any>('task.submit', {
          capabilities: ['work'],
          payload: 'x',
          timeoutMs: 300,
        });
        // whichever worker gets it first lets it time out; the sweep must give it to the other one
        const [a, b] = await Promise.all(assignments);
        assert.deepEqual([a.id, b.id], [task.id, task.id]);
        assert.deepEqual([a.attempts, b.attempts].sort(), [1, 2]);
      });

      it('drops the queued requests of a client that left', async () => {
        const tenant = await admin.provision(`gone-${mode}`);
        const { session } = await hello(hub.wsUrl, tenant.key, 'reader');
        assert.equal((await session.request('memory.set', { key: 'big', value: 'x'.repeat(1_000_000) })).ok, true);
        const count = async () =>
          (await hub.services.metrics.registry.getMetricsAsJSON())
            .find((m) => m.name === 'hub_request_duration_seconds')!
            .values.filter((v: any) => v.metricName?.endsWith('_count') && v.labels.type === 'memory.get')
            .reduce((sum, v) => sum + v.value, 0);
        const before = await count();
        // given a client that pipelines 200 reads of 1 MB, stops reading and leaves
        session.ws.pause();
        for (let i = 0; i < 200; i++) session.send({ type: 'memory.get', id: `g${i}`, payload: { key: 'big' } });
        await new Promise((r) => setTimeout(r, 300));
        session.ws.terminate();
        await new Promise((r) => setTimeout(r, 1_000));
        // then the hub stopped answering when its replies went unread, and ran none of the rest
        const ran = (await count()) - before;
        assert.ok(ran < 30, `${ran} of 200 reads ran for a client that was not reading and then left`);
      });
    });
  });
}

describe('output to clients that read slowly (embedded)', () => {
  let backing: Backing;
  let hub: Hub;

  before(async () => {
    backing = await startBacking('embedded');
    hub = await startTestHub(backing, {
      HUB_OUTBOUND_BUFFER_BYTES: String(16 * 1024 * 1024),
      HUB_RATE_MESSAGES_PER_MIN: '100000',
      HUB_KEY_RATE_MESSAGES_PER_MIN: '100000',
      HUB_TENANT_RATE_MESSAGES_PER_MIN: '100000',
      HUB_RATE_REQUESTS_PER_MIN: '100000',
      HUB_KEY_RATE_REQUESTS_PER_MIN: '100000',
      HUB_TENANT_RATE_REQUESTS_PER_MIN: '100000',
    });
  });

  after(async () => {
    closeAllClients();
    await hub?.shutdown('test finished');
    await backing?.stop();
  });

  it('sheds the sessions that do not read once all sessions together hold the budget', async () => {
    const tenant = await new Admin(hub.adminUrl).provision('budget');
    // given eight agents that stop reading, each allowed 8 MiB alone, 64 MiB together
    const idle = await Promise.all(Array.from({ length: 8 }, (_, i) => helloRaw(hub.wsUrl, tenant.key, `idle-${i}`)));
    for (const { session } of idle) session.ws.pause();
    const talker = await connectAgent(hub.wsUrl, tenant.key, 'talker');
    let highest = 0;
    const sampler = setInterval(async () => {
      const bytes = (await hub.services.metrics.outboundBytes.get()).values[0]?.value ?? 0;
      highest = Math.max(highest, bytes);
    }, 5);
    // when 40 MB of broadcasts go to each of them
    const data = 'x'.repeat(100_000);
    for (let i = 0; i < 400; i++) await talker.request('activity.broadcast', { data });
    await new Promise((r) => setTimeout(r, 200));
    clearInterval(sampler);
    // then the budget held (within one frame and the reader slack per session), and every one of them
    // was shed as a slow consumer: closed with 4010, cut (1006) if it did not even read up to the close
    for (const { session } of idle) session.ws.resume(); // to read up to the close
    const codes = await Promise.all(idle.map(({ session }) => session.closed.then((c) => c.code)));
    assert.ok(highest <= 16 * 1024 * 1024 + 8 * (64 * 1024 + 100_200), `${highest} bytes buffered at the peak`);
    assert.ok(
      codes.every((code) => code === 4010 || code === 1006),
      `close codes ${codes.join(', ')}`,
    );
    const shed = await hub.services.metrics.connectionsRefused.get();
    assert.equal(shed.values.find((v) => v.labels.rule === 'slow_consumer')?.value, 8);
    for (const { session } of idle) session.ws.terminate();
  });

  it('caps a dm.fetch reply at about 1 MB of bodies, so no single frame slips past the caps', async () => {
    const tenant = await new Admin(hub.adminUrl).provision('fetch-cap');
    const sender = await connectAgent(hub.wsUrl, tenant.key, 'fetch-sender');
    const { session, hello } = await helloRaw(hub.wsUrl, tenant.key, 'fetch-receiver');
    const body = 'y'.repeat(100_000);
    for (let i = 0; i < 30; i++) await sender.sendDm(hello.payload.agentId, body);
    const reply = await session.request('dm.fetch', { afterSeq: 0, limit: 30 });
    assert.equal(reply.payload.messages.length, 10);
    assert.deepEqual(
      reply.payload.messages.map((m: any) => m.seq),
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
    const next = await session.request('dm.fetch', { afterSeq: 10, limit: 30 });
    assert.equal(next.payload.messages[0].seq, 11);
    session.ws.close();
  });

  it('replays a 20 MB backlog at the pace the client reads it, without shedding the client', async () => {
    const tenant = await new Admin(hub.adminUrl).provision('backlog');
    const sender = await connectAgent(hub.wsUrl, tenant.key, 'backlog-sender');
    const first = await helloRaw(hub.wsUrl, tenant.key, 'backlog-receiver');
    first.session.ws.close();
    await first.session.closed;
    for (let i = 0; i < 200; i++) await sender.sendDm(first.hello.payload.agentId, 'z'.repeat(100_000));
    // given a client that says hello, then reads nothing for a while
    const { session } = await helloRaw(hub.wsUrl, tenant.key, 'backlog-receiver');
    session.ws.pause();
    await new Promise((r) => setTimeout(r, 500));
    session.ws.resume();
    // then it gets the whole backlog and stays connected
    await eventually(() => assert.equal(session.frames.filter((f) => f.event === 'dm').length, 200), 10_000);
    assert.equal(session.ws.readyState, session.ws.OPEN);
    session.ws.close();
  });
});
