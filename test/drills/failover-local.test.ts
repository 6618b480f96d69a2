/* The local failover drill, small and bounded: three hubs behind HAProxy, SIGTERM then SIGKILL. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadEnvironment } from '../../environments/index.ts';
import { haproxyConfig } from '../../runbooks/failover/haproxy.ts';
import { percentile, runLocalFailoverDrill } from '../../runbooks/failover/local.ts';
import { resolveObjectives } from '../../runbooks/lib/objectives.ts';

describe('failover drill, local target', () => {
  it(
    'loses no acknowledged DM across a SIGTERM (nor a SIGKILL), and agents reconnect',
    { timeout: 120_000 },
    async () => {
      // given
      const env = loadEnvironment('local');
      const lines: string[] = [];

      // when
      const report = await runLocalFailoverDrill(
        { env, objectives: resolveObjectives(env), stepSeconds: 3, agents: 4, print: (l) => lines.push(l) },
        'test',
      );

      // then
      assert.equal(report.passed, true, report.failures.join('\n'));
      const sigterm = report.events.find((e) => e.event === 'sigterm')!;
      const sigkill = report.events.find((e) => e.event === 'sigkill')!;
      assert.ok(sigterm.dmsAcknowledged > 0 && sigkill.dmsAcknowledged > 0);
      assert.equal(sigterm.dmsLost, 0);
      assert.equal(sigkill.dmsLost, 0);
      assert.equal(report.hubExitCodes['failover-hub-1'], 0, 'SIGTERM drains and exits 0');
      assert.ok(sigterm.reconnects > 0 && sigkill.reconnects > 0, 'agents of the stopped hubs reconnected');
      assert.ok(lines.some((l) => /SIGKILL failover-hub-2/.test(l)));
    },
  );

  it('checks hub readiness in HAProxy and takes a hub out after one failed check', () => {
    const config = haproxyConfig(8000, [9001, 9002]);
    assert.match(config, /option httpchk GET \/api\/ready/);
    assert.match(config, /server hub2 127\.0\.0\.1:9002 check inter 500ms fall 1 rise 2/);
    assert.match(config, /bind 127\.0\.0\.1:8000/);
  });

  it('computes percentiles by nearest rank', () => {
    assert.equal(percentile([5, 1, 3, 2, 4], 50), 3);
    assert.equal(percentile([5, 1, 3, 2, 4], 99), 5);
    assert.equal(percentile([], 50), undefined);
  });
});
