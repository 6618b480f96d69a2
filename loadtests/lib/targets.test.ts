import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadEnvironment } from '../../environments/index.ts';
import { openTarget, parseStartAt, planTarget, waitForStart } from './targets.ts';

// Nothing here sends traffic: plans are pure, and the only target opened has its key given.
const local = loadEnvironment('local');
const staging = loadEnvironment('staging');
const prod = loadEnvironment('prod');
const KEY = { LOADTEST_API_KEY: 'rk_test' };

describe('targets: which one a run uses', () => {
  it('local without --target starts the local stack', () => {
    assert.deepEqual(planTarget({ env: local }, {}), { kind: 'local-stack' });
  });

  it('local with a loopback --target uses that one (a stack shared by several runners)', () => {
    for (const target of [
      'ws://127.0.0.1:8080/ws',
      'ws://localhost:1234/ws',
      'ws://[::1]:80/ws',
      'ws://127.0.0.2/ws',
    ]) {
      const plan = planTarget({ env: local, target }, KEY);
      assert.equal(plan.kind, 'remote');
      assert.equal(plan.kind === 'remote' && new URL(plan.wsUrl).href, new URL(target).href);
    }
  });

  it('local refuses a target off this machine: a deployed environment must be named', () => {
    assert.throws(
      () => planTarget({ env: local, target: 'wss://hub.staging.ringforge.example/ws' }, KEY),
      /--env local is a laptop environment, which allows loopback targets only/,
    );
    assert.throws(() => planTarget({ env: local, target: 'ws://10.0.0.5:8080/ws' }, KEY), /loopback targets only/);
  });

  it('a deployed environment is hit at its public hostname, or at --target (the in-cluster Service)', () => {
    assert.deepEqual(planTarget({ env: staging }, KEY), {
      kind: 'remote',
      wsUrl: 'wss://hub.staging.ringforge.example/ws',
      apiKey: { kind: 'given', apiKey: 'rk_test' },
    });
    const inCluster = planTarget({ env: staging, target: 'ws://hub.ringforge.svc:8080/ws' }, KEY);
    assert.equal(inCluster.kind === 'remote' && inCluster.wsUrl, 'ws://hub.ringforge.svc:8080/ws');
  });

  it('prod asks for --yes and says what would be hit', () => {
    assert.throws(
      () => planTarget({ env: prod }, KEY),
      /--env prod asks for confirmation: add --yes to send load to wss:\/\/hub\.ringforge\.example\/ws/,
    );
    assert.equal(planTarget({ env: prod, confirmed: true }, KEY).kind, 'remote');
  });

  it('a remote target needs a key: given, or provisioned through the admin API with the token from the environment', () => {
    assert.throws(() => planTarget({ env: staging }, {}), /set LOADTEST_API_KEY, or give --admin-url/);
    const adminUrl = 'http://127.0.0.1:9090';
    assert.deepEqual(planTarget({ env: staging, adminUrl }, { HUB_ADMIN_TOKEN: 'secret' }), {
      kind: 'remote',
      wsUrl: 'wss://hub.staging.ringforge.example/ws',
      apiKey: { kind: 'admin', adminUrl, adminToken: 'secret' },
    });
    assert.throws(
      () => planTarget({ env: staging, adminUrl }, {}),
      /--admin-url needs the admin token in HUB_ADMIN_TOKEN/,
    );
    assert.throws(
      () => planTarget({ env: staging, adminUrl }, { ...KEY, HUB_ADMIN_TOKEN: 'secret' }),
      /give LOADTEST_API_KEY or --admin-url, not both/,
    );
    // The token would cross the network in clear text.
    assert.throws(
      () => planTarget({ env: staging, adminUrl: 'http://hub.ringforge.svc:9090' }, { HUB_ADMIN_TOKEN: 'secret' }),
      /plain http only to loopback/,
    );
    assert.throws(() => planTarget({ env: local, adminUrl }, { HUB_ADMIN_TOKEN: 'x' }), /--admin-url needs --target/);
  });

  it('one key serves every slice; several keys are one per slice, taken by its index', () => {
    const keyOf = (env: NodeJS.ProcessEnv, index: number) => {
      const plan = planTarget({ env: staging, slice: { index, count: 3 } }, env);
      return plan.kind === 'remote' && plan.apiKey.kind === 'given' ? plan.apiKey.apiKey : undefined;
    };
    assert.deepEqual(
      [0, 1, 2].map((i) => keyOf(KEY, i)),
      ['rk_test', 'rk_test', 'rk_test'],
    );
    const three = { LOADTEST_API_KEY: 'rk_a, rk_b,rk_c' };
    assert.deepEqual(
      [0, 1, 2].map((i) => keyOf(three, i)),
      ['rk_a', 'rk_b', 'rk_c'],
    );
    assert.throws(
      () => keyOf({ LOADTEST_API_KEY: 'rk_a,rk_b' }, 0),
      /holds 2 keys for 3 slices: give one key, or one per slice/,
    );
  });

  it('names a malformed flag', () => {
    assert.throws(
      () => planTarget({ env: staging, target: 'https://hub/ws' }, KEY),
      /--target must be a ws:\/\/ or wss:\/\/ URL/,
    );
    assert.throws(
      () => planTarget({ env: staging, target: 'hub:8080' }, KEY),
      /--target must be a ws:\/\/ or wss:\/\//,
    );
    assert.throws(() => planTarget({ env: staging, target: 'nonsense' }, KEY), /--target must be a URL/);
  });

  it('a given key opens a remote target without contacting it; its HTTP address follows the WebSocket one', async () => {
    const lines: string[] = [];
    const target = await openTarget(
      { kind: 'remote', wsUrl: 'wss://hub.staging.ringforge.example/ws', apiKey: { kind: 'given', apiKey: 'rk_x' } },
      'run1',
      (line) => lines.push(line),
    );
    assert.equal(target.httpUrl, 'https://hub.staging.ringforge.example');
    assert.equal(target.apiKey, 'rk_x');
    assert.deepEqual(target.replicas, []);
    assert.deepEqual(lines, ['target: wss://hub.staging.ringforge.example/ws']);
    assert.ok(!lines.join('\n').includes('rk_x'), 'the key is never printed');
  });
});

describe('targets: the shared start', () => {
  const now = new Date('2026-12-01T10:00:00Z');

  it('takes an ISO time within ten minutes either way', () => {
    assert.equal(parseStartAt('2026-12-01T10:09:59Z', now).toISOString(), '2026-12-01T10:09:59.000Z');
    assert.equal(parseStartAt('2026-12-01T09:55:00Z', now).toISOString(), '2026-12-01T09:55:00.000Z');
    assert.throws(() => parseStartAt('2026-12-01T10:30:00Z', now), /is 30 min ahead; it must be within 10 min of now/);
    assert.throws(() => parseStartAt('2026-12-01T08:00:00Z', now), /is 120 min ago/);
    assert.throws(() => parseStartAt('in 5 minutes', now), /--start-at must be an ISO time/);
    assert.throws(() => parseStartAt('1733047200', now), /--start-at must be an ISO time/);
  });

  it('waits for it with a countdown, and a late runner says how late it is', async () => {
    const lines: string[] = [];
    const at = new Date(Date.now() + 250);
    await waitForStart(at, (line) => lines.push(line), undefined, 100);
    assert.ok(Date.now() >= at.getTime(), 'returned before the start');
    assert.ok(lines.length >= 2, lines.join('\n'));
    assert.match(lines[0]!, /^start: in 1s \(/);
    const late: string[] = [];
    await waitForStart(new Date(Date.now() - 2_000), (line) => late.push(line));
    assert.match(late[0]!, /^start: 2\.\ds after the shared start/);
  });
});
