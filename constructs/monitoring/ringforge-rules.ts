import { burnRateAlerts, burnRateRecordings, type BurnRateSlo } from './burn-rate.ts';
import { dataAlerts, type DataAlertParams } from './data-alerts.ts';
import { hubAlerts } from './hub-alerts.ts';
import { regionAlerts } from './region-alerts.ts';
import type { MetricScope, RuleGroup } from './rules.ts';

export interface RingforgeRuleParams extends DataAlertParams {
  readonly slo: BurnRateSlo;
}

/** Every rule group of one Prometheus: the same groups on Kubernetes and on tiers 0-1's servers. */
export function ringforgeRuleGroups(scope: MetricScope, params: RingforgeRuleParams): RuleGroup[] {
  return [
    { name: 'ringforge-region', rules: regionAlerts(scope) },
    { name: 'ringforge-hub', rules: hubAlerts(scope) },
    { name: 'ringforge-data', rules: dataAlerts(scope, params) },
    burnRateRecordings(scope, params.slo),
    burnRateAlerts(scope, params.slo),
  ];
}

/** The thresholds an environment file sets, as rule parameters. */
export function ruleParamsOf(env: {
  slo: BurnRateSlo;
  drill: { rpoSeconds: number };
  backup: { archiveTimeoutSeconds: number };
  alerting: { backupMaxAgeHours: number };
}): RingforgeRuleParams {
  return {
    slo: env.slo,
    backupMaxAgeHours: env.alerting.backupMaxAgeHours,
    replicationLagSeconds: env.drill.rpoSeconds,
    // archive_timeout ships a segment at least that often while the primary writes, and the hubs'
    // WAL heartbeat (every 5 minutes, HUB_WAL_HEARTBEAT_MS) makes an idle primary write; ten
    // segments missing, and at least 15 minutes, is a stall rather than a quiet moment.
    replicaStallSeconds: Math.max(900, 10 * env.backup.archiveTimeoutSeconds),
  };
}
