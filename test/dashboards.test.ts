/*
 * The five generated dashboards: laid out without overlaps, every query valid PromQL (promtool
 * parses them as recording rules), and every hub metric they chart one a running hub exports.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { ringforgeDashboards, type DashboardScope } from '../constructs/dashboards/index.ts';
import { loadEnvironment } from '../environments/index.ts';
import { tool } from '../scripts/lib/tools.ts';
import type { Hub } from '../src/hub/hub.ts';
import { startBacking, startTestHub, type Backing } from './hub/helpers/hub-harness.ts';

const scope: DashboardScope = {
  hub: 'namespace="ringforge", service="hub"',
  postgres: 'namespace="ringforge-data"',
  valkey: 'namespace="ringforge-data", pod=~"valkey-.*"',
  edge: 'namespace="traefik"',
  environment: 'staging',
  region: 'nbg1',
};
const dashboards = ringforgeDashboards(scope, loadEnvironment('staging').slo) as Record<string, any>;

const panelsOf = (d: any): any[] => d.panels.filter((p: any) => p.type !== 'row');
const exprsOf = (d: any): string[] => panelsOf(d).flatMap((p) => p.targets.map((t: any) => t.expr as string));

describe('dashboards', () => {
  test('five, one per seed topic, each with a unique uid and the Prometheus datasource variable', () => {
    assert.deepEqual(Object.keys(dashboards).sort(), [
      'ringforge-edge.json',
      'ringforge-hub.json',
      'ringforge-postgres.json',
      'ringforge-slo.json',
      'ringforge-valkey.json',
    ]);
    for (const [file, d] of Object.entries(dashboards)) {
      assert.equal(`${d.uid}.json`, file);
      assert.equal(d.templating.list[0].type, 'datasource');
      for (const p of panelsOf(d)) assert.equal(p.datasource.uid, '${datasource}', `${d.uid}: ${p.title}`);
    }
  });

  test('panels have unique ids and never overlap on the 24-column grid', () => {
    for (const d of Object.values(dashboards)) {
      const ids = d.panels.map((p: any) => p.id);
      assert.equal(new Set(ids).size, ids.length, `${d.uid}: ids repeat`);
      const cells = new Set<string>();
      for (const { gridPos: g, title } of d.panels) {
        assert.ok(g.x >= 0 && g.x + g.w <= 24, `${d.uid}: ${title} leaves the grid`);
        for (let x = g.x; x < g.x + g.w; x++) {
          for (let y = g.y; y < g.y + g.h; y++) {
            assert.ok(!cells.has(`${x},${y}`), `${d.uid}: ${title} overlaps another panel at ${x},${y}`);
            cells.add(`${x},${y}`);
          }
        }
      }
    }
  });

  test('every query is valid PromQL (promtool check rules)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rf-dashboards-'));
    try {
      const groups = Object.values(dashboards).map((d) => ({
        name: d.uid,
        rules: exprsOf(d).map((expr, i) => ({ record: `dashboard:query_${i}`, expr })),
      }));
      const file = join(dir, 'queries.yaml');
      writeFileSync(file, stringify({ groups }));
      const out = execFileSync(tool('promtool'), ['check', 'rules', '--lint=none', file], { encoding: 'utf8' });
      assert.match(out, /SUCCESS: \d+ rules found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('against a running hub', () => {
    let backing: Backing;
    let hub: Hub;
    before(async () => {
      backing = await startBacking('embedded');
      hub = await startTestHub(backing);
    });
    after(async () => {
      await hub.shutdown('test over');
      await backing.stop();
    });

    test('every hub metric the hub and SLO dashboards chart is exported by the hub', async () => {
      const scrape = await (await fetch(`${hub.adminUrl}/metrics`)).text();
      const exported = new Set([...scrape.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
      const charted = new Set(
        ['ringforge-hub.json', 'ringforge-slo.json']
          .flatMap((f) => exprsOf(dashboards[f]))
          .flatMap((e) => [...e.matchAll(/\b(hub_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|count|sum)$/, ''))),
      );
      assert.ok(charted.size >= 10, `the hub dashboard charts ${charted.size} hub metrics`);
      const missing = [...charted].filter((name) => !exported.has(name));
      assert.deepEqual(missing, [], 'charted but not exported');
    });
  });
});
