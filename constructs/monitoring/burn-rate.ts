import { REQUEST_DURATION_BUCKETS } from '../../src/hub/metrics.ts';
import { alertOf, type AlertingRule, type MetricScope, type RecordingRule, type RuleGroup } from './rules.ts';

/** The SLOs of an environment file that burn-rate alerts are generated from. */
export interface BurnRateSlo {
  /** Largest share of agent requests that may fail on the hub's side. */
  readonly maxErrorRate: number;
  /** 95% of agent requests are answered within this many milliseconds. */
  readonly apiP95Ms: number;
}

/**
 * The SRE workbook's multi-window, multi-burn-rate pairs: a long window says the budget is really
 * burning, the short one that it still is (so the alert resolves soon after the burn stops).
 * 14.4x over 1 h spends 2% of a 30-day budget; 6x over 6 h spends 5%.
 */
export const BURN_WINDOWS = [
  { name: 'Fast', long: '1h', short: '5m', factor: 14.4 },
  { name: 'Slow', long: '6h', short: '30m', factor: 6 },
] as const;

const WINDOWS = [...new Set(BURN_WINDOWS.flatMap((w) => [w.short, w.long]))];

/** Request outcomes that are the hub's fault, not the agent's (src/hub/protocol/errors.ts). */
const SERVER_OUTCOMES = 'internal|overloaded';

export const sliRecord = (window: string) => `ringforge:slo_errors:ratio_rate${window}`;

interface Objective {
  readonly slo: 'availability' | 'latency';
  readonly alertPrefix: string;
  /** Share of requests allowed to be bad. */
  readonly budget: number;
  readonly errorRatio: (window: string) => string;
  readonly describe: string;
}

function objectives(scope: MetricScope, slo: BurnRateSlo): Objective[] {
  const le = slo.apiP95Ms / 1000;
  if (!REQUEST_DURATION_BUCKETS.includes(le)) {
    throw new Error(
      `slo.apiP95Ms: ${slo.apiP95Ms} ms must be a bucket bound of hub_request_duration_seconds ` +
        `(${REQUEST_DURATION_BUCKETS.map((b) => b * 1000).join(', ')} ms): the latency SLI counts the requests in that bucket`,
    );
  }
  const total = (w: string) => `sum(rate(hub_request_duration_seconds_count{${scope.hub}}[${w}]))`;
  return [
    {
      slo: 'availability',
      alertPrefix: 'RingforgeAvailabilityBudgetBurn',
      budget: slo.maxErrorRate,
      errorRatio: (w) =>
        `sum(rate(hub_request_duration_seconds_count{${scope.hub}, outcome=~"${SERVER_OUTCOMES}"}[${w}])) / ${total(w)}`,
      describe: `agent requests failing on the hub's side (SLO: at most ${slo.maxErrorRate * 100}%)`,
    },
    {
      slo: 'latency',
      alertPrefix: 'RingforgeLatencyBudgetBurn',
      budget: 0.05,
      errorRatio: (w) =>
        `1 - sum(rate(hub_request_duration_seconds_bucket{${scope.hub}, le="${le}"}[${w}])) / ${total(w)}`,
      describe: `agent requests slower than ${slo.apiP95Ms} ms (SLO: p95 within it)`,
    },
  ];
}

/** Recording rules for each SLO's error ratio over every window the alerts read. */
export function burnRateRecordings(scope: MetricScope, slo: BurnRateSlo): RuleGroup {
  const rules: RecordingRule[] = objectives(scope, slo).flatMap((o) =>
    WINDOWS.map((w) => ({ record: sliRecord(w), expr: o.errorRatio(w), labels: { slo: o.slo } })),
  );
  return { name: 'ringforge-slo-recording', interval: '30s', rules };
}

/** One alert per SLO and window pair, on the recorded ratios. */
export function burnRateAlerts(scope: MetricScope, slo: BurnRateSlo): RuleGroup {
  const rules: AlertingRule[] = objectives(scope, slo).flatMap((o) =>
    BURN_WINDOWS.map((w) => {
      // Rounded so 14.4 * 0.001 prints as 0.0144, not 0.014400000000000001.
      const threshold = Number((w.factor * o.budget).toPrecision(6));
      const over = (window: string) => `${sliRecord(window)}{slo="${o.slo}"} > ${threshold}`;
      return alertOf(scope, {
        alert: `${o.alertPrefix}${w.name}`,
        expr: `${over(w.long)} and ${over(w.short)}`,
        for: w.name === 'Fast' ? '2m' : '15m',
        severity: 'critical',
        summary: `The ${o.slo} error budget burns at ${w.factor}x over ${w.long} and ${w.short}: ${o.describe}.`,
        labels: { component: 'slo', slo: o.slo },
      });
    }),
  );
  return { name: 'ringforge-slo-burn-rate', rules };
}
