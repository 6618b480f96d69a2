/*
 * The autoscaler's connection metric is one a running hub really exports: the rendered KEDA
 * ScaledObject's Prometheus query names a gauge the hub serves on /metrics, and summing the hub's
 * series the way the query does counts the agents that are connected.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { renderK8s } from '../charts/render.ts';
import { HUB_CONNECTIONS_METRIC } from '../constructs/k8s/hub-autoscaler.ts';
import { loadHetznerEnvironments } from '../environments/index.ts';
import type { Hub } from '../src/hub/hub.ts';
import {
  Admin,
  closeAllClients,
  connectAgent,
  eventually,
  startBacking,
  startTestHub,
  type Backing,
} from './hub/helpers/hub-harness.ts';

const AGENTS = 3;

/** The prometheus trigger of every rendered ScaledObject, by cluster folder. */
const prometheusTriggers = renderK8s(loadHetznerEnvironments()).flatMap((app) =>
  app.objects
    .filter((o) => o.kind === 'ScaledObject')
    .flatMap((o: any) => o.spec.triggers.filter((t: any) => t.type === 'prometheus'))
    .map((t: any) => ({ dir: app.dir, query: String(t.metadata.query) })),
);

/** Samples of one metric in Prometheus' text format: labels and value per series. */
function samples(scrape: string, metric: string): { labels: string; value: number }[] {
  const pattern = new RegExp(`^${metric}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm');
  return [...scrape.matchAll(pattern)].map((m) => ({ labels: m[1] ?? '', value: Number(m[2]) }));
}

describe('the autoscaler reads a metric the hub exports', () => {
  let backing: Backing;
  let hub: Hub;

  before(async () => {
    backing = await startBacking('embedded');
    hub = await startTestHub(backing);
    const { key } = await new Admin(hub.adminUrl).provision('autoscaled');
    for (let i = 0; i < AGENTS; i++) await connectAgent(hub.wsUrl, key, `agent-${i}`);
  });

  after(async () => {
    closeAllClients();
    await hub.shutdown('test over');
    await backing.stop();
  });

  test('every rendered ScaledObject queries the hub connection gauge', () => {
    assert.ok(prometheusTriggers.length >= 3, 'staging and both prod regions render one');
    for (const { dir, query } of prometheusTriggers) {
      const names = [...query.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)].map((m) => m[1]);
      assert.deepEqual(names, [HUB_CONNECTIONS_METRIC], `${dir}: ${query}`);
    }
  });

  test('the hub serves that gauge, without the target labels Prometheus adds, and it counts the agents', async () => {
    await eventually(async () => {
      const scrape = await (await fetch(`${hub.adminUrl}/metrics`)).text();
      assert.match(scrape, new RegExp(`^# TYPE ${HUB_CONNECTIONS_METRIC} gauge$`, 'm'));
      const series = samples(scrape, HUB_CONNECTIONS_METRIC);
      assert.ok(series.length > 0, `${HUB_CONNECTIONS_METRIC} has samples`);
      // The query selects on namespace and job, which Prometheus attaches at scrape time; a series
      // of the hub's own with those labels would be renamed exported_* and miss the selector.
      for (const s of series) assert.doesNotMatch(s.labels, /(^|,)(namespace|job)=/);
      assert.equal(
        series.reduce((sum, s) => sum + s.value, 0),
        AGENTS,
      );
    });
  });
});
