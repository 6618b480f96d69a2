import { CLOUDNATIVE_PG_METRICS } from './data-alerts.ts';
import { alertOf, type AlertingRule, type MetricScope } from './rules.ts';

/**
 * A region that serves nothing: no hub and no Postgres instance answers. Alertmanager inhibits
 * every other alert of the region while this one fires (alertmanager.ts), so the on-call engineer
 * gets one page for the region instead of one per part.
 */
export function regionAlerts(scope: MetricScope): AlertingRule[] {
  const down = (matchers: string, up = 'up') => `(sum(${up}{${matchers}}) or vector(0)) == 0`;
  const postgresUp = (scope.postgresMetrics ?? CLOUDNATIVE_PG_METRICS).up;
  return [
    alertOf(scope, {
      alert: 'RingforgeRegionDown',
      expr: `${down(scope.hub)} and on () ${down(scope.postgres, postgresUp)}`,
      for: '2m',
      severity: 'critical',
      summary: `Region ${scope.region} serves nothing: no hub replica and no Postgres instance answers (runbooks/region-loss.md).`,
      labels: { component: 'region' },
    }),
  ];
}
