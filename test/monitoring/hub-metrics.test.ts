import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { renderK8s } from '../../charts/render.ts';
import type { RuleGroup } from '../../constructs/monitoring/rules.ts';
import type { Hub } from '../../src/hub/hub.ts';
import { loadHetznerEnvironments } from '../../environments/index.ts';
import { startBacking, startTestHub, type Backing } from '../hub/helpers/hub-harness.ts';

/** Every hub_* metric family the rendered rules read (histogram series named by their family). */
function hubMetricsInRules(): string[] {
  const rules = renderK8s(loadHetznerEnvironments())
    .flatMap((r) => r.objects)
    .filter((o) => o.kind === 'PrometheusRule')
    .flatMap((o) => (o.spec as { groups: RuleGroup[] }).groups.flatMap((g) => g.rules));
  const names = rules.flatMap((r) => [...r.expr.matchAll(/\bhub_[a-z_]+/g)].map(([n]) => n));
  return [...new Set(names.map((n) => n.replace(/_(bucket|count|sum)$/, '')))].sort();
}

describe('the metrics the alerts read, on a running hub with a real Postgres', () => {
  let backing: Backing;
  let hub: Hub;
  let scrape: string;

  before(async () => {
    backing = await startBacking('server');
    hub = await startTestHub(backing, { HUB_DB_POOL_SIZE: '7' });
    await fetch(`${hub.httpUrl}/api/health`);
    scrape = await (await fetch(`${hub.adminUrl}/metrics`)).text();
  });
  after(async () => {
    await hub?.shutdown('test over');
    await backing?.stop();
  });

  test('every hub metric named in a rule is exported', () => {
    const names = hubMetricsInRules();
    assert.ok(names.includes('hub_database_pool_waiting_queries') && names.includes('hub_request_duration_seconds'));
    const missing = names.filter((n) => !new RegExp(`^# TYPE ${n} `, 'm').test(scrape));
    assert.deepEqual(missing, [], `rules read metrics the hub does not export: ${missing.join(', ')}`);
  });

  test('the pool gauges report the configured pool', () => {
    const value = (name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(scrape)?.[1]);
    assert.equal(value('hub_database_pool_max_connections'), 7);
    const open = value('hub_database_pool_connections');
    assert.ok(open >= 1 && open <= 7, `pool connections ${open}`);
    assert.equal(value('hub_database_pool_waiting_queries'), 0);
  });
});
