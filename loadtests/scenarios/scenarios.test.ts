import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runLoadTest } from '../run.ts';

describe('npm run loadtest: api and tasks against the local stack', { timeout: 180_000 }, () => {
  const reportRoot = mkdtempSync(join(tmpdir(), 'rf-loadtest-scenarios-'));
  after(() => rmSync(reportRoot, { recursive: true, force: true }));

  /** The smoke profile of a scenario whose one arrival-rate scenario shares its name, cut to 5 s. */
  async function shortSmoke(scenario: string) {
    const result = await runLoadTest({
      scenario,
      profile: 'smoke',
      reportRoot,
      print: () => undefined,
      options: (defaults) => ({
        ...defaults,
        scenarios: { [scenario]: { ...defaults.scenarios[scenario]!, duration: '5s' } },
      }),
    });
    assert.equal(result.error, undefined);
    assert.equal(result.exitCode, 0);
    return result.summary!.metrics;
  }

  it('api: every route answered as expected by the hubs it was sent to', async () => {
    const metrics = await shortSmoke('api');
    assert.equal(metrics.http_req_failed!.total.rate, 0);
    const answered = new Set(
      metrics.http_req_duration!.byTags.map(({ tags }) => `${tags.route} ${tags.replica ?? 'lb'} ${tags.status}`),
    );
    const expected = ['health lb 200', 'ready lb 200'];
    for (const replica of ['loadtest-hub-1', 'loadtest-hub-2']) {
      for (const route of ['admin.tenants.list', 'admin.fleets.list', 'admin.agents.list']) {
        expected.push(`${route} ${replica} 200`);
      }
    }
    assert.deepEqual([...answered].sort(), expected.sort());
    const checks = metrics.checks!.byTags.filter(({ tags }) => tags.check === 'answer as expected');
    assert.ok(checks.length === expected.length && checks.every((c) => c.stats.rate === 1));
  });

  it('tasks: every task created is completed exactly once, by workers of the stack', async () => {
    const metrics = await shortSmoke('tasks');
    const created = metrics.tasks_created!.total.count!;
    assert.ok(created >= 90, `${created} tasks created`);
    assert.equal(metrics.tasks_completed!.total.count, created);
    assert.equal(metrics.tasks_completed_once!.total.rate, 1);
    assert.equal(metrics.task_complete_latency!.total.count, created);
    for (const name of ['tasks_failed', 'tasks_timeouts']) assert.equal(metrics[name]!.total.count, 0, name);
    // Which hub's workers get the tasks is the hub's choice (any idle worker of the fleet), so a
    // short run may land them all on one; each is still tagged with a replica of the stack.
    const workerHubs = [...new Set(metrics.task_assign_latency!.byTags.map(({ tags }) => tags.replica))];
    assert.ok(workerHubs.length > 0);
    for (const hub of workerHubs) assert.match(String(hub), /^loadtest-hub-[12]$/);
  });
});
