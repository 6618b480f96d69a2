import type { Severity } from '../../environments/alerting.ts';
import type { PostgresMetrics } from './data-alerts.ts';

/** An alerting rule as Prometheus reads it from a rule file or a PrometheusRule. */
export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: Record<string, string> & { severity: Severity };
  readonly annotations: { summary: string };
}

/** A recording rule: a precomputed series other rules read. */
export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
  readonly labels?: Record<string, string>;
}

export type Rule = AlertingRule | RecordingRule;

export interface RuleGroup {
  readonly name: string;
  /** Evaluation interval; Prometheus's global one when absent. */
  readonly interval?: string;
  readonly rules: readonly Rule[];
}

export const isAlert = (rule: Rule): rule is AlertingRule => 'alert' in rule;

/**
 * Where the series of each component come from. Kubernetes tiers select them by namespace and
 * Service; the servers of tiers 0-1 by scrape job. The labels are stamped on every alert, so
 * Alertmanager can group and inhibit by environment and region.
 */
export interface MetricScope {
  /** Label matchers of the hub's scrape targets, e.g. `namespace="ringforge", service="hub"`. */
  readonly hub: string;
  /** Label matchers of the Postgres exporters (CloudNativePG instances on Kubernetes). */
  readonly postgres: string;
  /** Label matchers of the Valkey exporters. */
  readonly valkey: string;
  /** Names of the Postgres series; CloudNativePG's when absent. */
  readonly postgresMetrics?: PostgresMetrics;
  readonly environment: string;
  readonly region: string;
}

/** The labels every alert of a scope carries. */
export const scopeLabels = (scope: MetricScope) => ({ environment: scope.environment, region: scope.region });

type AlertSpec = {
  alert: string;
  expr: string;
  for: string;
  severity: Severity;
  summary: string;
  labels?: Record<string, string>;
};

/** Builds an alert carrying the scope's labels. */
export const alertOf = (scope: MetricScope, a: AlertSpec): AlertingRule => ({
  alert: a.alert,
  expr: a.expr,
  for: a.for,
  labels: { ...a.labels, ...scopeLabels(scope), severity: a.severity },
  annotations: { summary: a.summary },
});
