import type { Environment } from '../../environments/schema.ts';
import { BURN_WINDOWS, sliRecord } from '../monitoring/burn-rate.ts';
import type { MetricScope } from '../monitoring/rules.ts';
import type { Dashboard } from './builder.ts';

const WINDOWS = [...new Set(BURN_WINDOWS.flatMap((w) => [w.short, w.long]))];

/**
 * The environment's SLOs against what the hub delivers: the error ratios the burn-rate alerts read
 * (their recording rules) per window, and the budget each may spend.
 */
export function sloDashboard(scope: MetricScope, slo: Environment['slo']): Dashboard {
  const hub = scope.hub;
  const ratio = (name: 'availability' | 'latency', budget: number) => ({
    title: `${name === 'availability' ? 'Failed' : `Slower than ${slo.apiP95Ms} ms`}: share of requests`,
    unit: 'percentunit' as const,
    description: `Budget: ${budget * 100}% of requests; the burn-rate alerts fire at ${BURN_WINDOWS.map((w) => `${w.factor}x over ${w.long}`).join(' and ')}.`,
    redAbove: budget,
    queries: WINDOWS.map((w) => ({ expr: `${sliRecord(w)}{slo="${name}"}`, legend: w })),
  });
  return {
    uid: 'ringforge-slo',
    title: 'RingForge SLOs',
    description: `The environment's service level objectives: at most ${slo.maxErrorRate * 100}% failed requests, p95 within ${slo.apiP95Ms} ms.`,
    from: 'now-7d',
    rows: [
      {
        title: 'Now',
        panels: [
          {
            title: 'Connected agents against the SLO',
            kind: 'stat',
            description: `The environment is sized for ${slo.concurrentAgents} concurrent agents.`,
            unit: 'percentunit',
            redAbove: 1,
            queries: [{ expr: `sum(hub_connected_agents{${hub}}) / ${slo.concurrentAgents}` }],
          },
          {
            title: 'Request p95',
            kind: 'stat',
            unit: 's',
            redAbove: slo.apiP95Ms / 1000,
            queries: [
              {
                expr: `histogram_quantile(0.95, sum by (le) (rate(hub_request_duration_seconds_bucket{${hub}}[5m])))`,
              },
            ],
          },
        ],
      },
      { title: 'Availability', panels: [ratio('availability', slo.maxErrorRate)] },
      { title: 'Latency', panels: [ratio('latency', 0.05)] },
    ],
  };
}
