import type { Environment } from '../../environments/schema.ts';
import type { MetricScope } from '../monitoring/rules.ts';
import { grafanaDashboard } from './builder.ts';
import { edgeDashboard } from './edge.ts';
import { hubDashboard } from './hub.ts';
import { postgresDashboard } from './postgres.ts';
import { sloDashboard } from './slo.ts';
import { valkeyDashboard } from './valkey.ts';

/** Where the series of the ingress controller come from, beside the scope of the alerts. */
export interface DashboardScope extends MetricScope {
  readonly edge: string;
}

/** The five RingForge dashboards (hub, Postgres, Valkey, edge, SLOs) as Grafana JSON, by file name. */
export function ringforgeDashboards(scope: DashboardScope, slo: Environment['slo']): Record<string, object> {
  const dashboards = [
    hubDashboard(scope),
    postgresDashboard(scope),
    valkeyDashboard(scope),
    edgeDashboard(scope.edge),
    sloDashboard(scope, slo),
  ];
  return Object.fromEntries(dashboards.map((d) => [`${d.uid}.json`, grafanaDashboard(d)]));
}
