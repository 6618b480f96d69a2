/*
 * The end-of-run summary: every metric's stats, in total and per tag set, the threshold verdict, and
 * the registry's snapshot so summaries of several generators can later be merged exactly.
 */
import type { AnyMetric, Tags } from './metrics.ts';
import type { Registry, RegistrySnapshot } from './registry.ts';
import type { Slice } from './slices.ts';
import type { ThresholdsVerdict } from './thresholds.ts';

type Stats = Record<string, number | undefined>;

export interface MetricSummary {
  readonly type: AnyMetric['type'];
  readonly total: Stats;
  readonly byTags: readonly { readonly tags: Tags; readonly stats: Stats }[];
}

export interface Summary {
  readonly scenario: string;
  readonly environment: string;
  readonly profile: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  /** The runner's part of a distributed run; absent from a whole run and from a merge. */
  readonly slice?: Slice;
  /** The run directories a merged summary was made of. */
  readonly mergedFrom?: readonly string[];
  readonly passed: boolean;
  readonly thresholds: readonly {
    readonly metric: string;
    readonly key: string;
    readonly expression: string;
    readonly observed: number | undefined;
    readonly passed: boolean;
    readonly problem?: string;
  }[];
  readonly metrics: Record<string, MetricSummary>;
  readonly registry: RegistrySnapshot;
}

const round = (value: number | undefined) => (value === undefined ? undefined : Math.round(value * 1000) / 1000);

function stats(metric: AnyMetric, tags: Tags = {}): Stats {
  switch (metric.type) {
    case 'trend': {
      const s = metric.select(tags);
      return {
        count: s.count,
        min: round(s.min),
        avg: round(s.avg),
        med: round(s.med),
        p90: round(s.percentile(90)),
        p95: round(s.percentile(95)),
        p99: round(s.percentile(99)),
        max: round(s.max),
      };
    }
    case 'counter':
      return { count: metric.select(tags).count };
    case 'rate': {
      const s = metric.select(tags);
      return { rate: round(s.rate), passes: s.passes, total: s.total };
    }
    case 'gauge': {
      const s = metric.select(tags);
      return { value: s.value, min: s.min, max: s.max };
    }
  }
}

export function summarize(
  registry: Registry,
  verdict: ThresholdsVerdict,
  run: Pick<Summary, 'scenario' | 'environment' | 'profile' | 'startedAt' | 'finishedAt' | 'slice' | 'mergedFrom'>,
): Summary {
  const metrics: Record<string, MetricSummary> = {};
  for (const metric of registry.metrics) {
    metrics[metric.name] = {
      type: metric.type,
      total: stats(metric),
      byTags: metric.tagSets.map((tags) => ({ tags, stats: stats(metric, tags) })),
    };
  }
  return {
    ...run,
    passed: verdict.passed,
    thresholds: verdict.results.map(({ threshold, observed, passed, problem }) => ({
      metric: threshold.metric,
      key: threshold.key,
      expression: threshold.expression,
      observed: round(observed),
      passed,
      ...(problem === undefined ? {} : { problem }),
    })),
    metrics,
    registry: registry.toJSON(),
  };
}

/** metric | expression | observed | result, aligned for a terminal. */
export function thresholdTable(summary: Summary): string {
  const rows = [
    ['metric', 'expression', 'observed', 'result'],
    ...summary.thresholds.map((t) => [
      t.key,
      t.expression,
      t.observed === undefined ? '-' : String(t.observed),
      t.passed ? 'pass' : `FAIL${t.problem ? ` (${t.problem})` : ''}`,
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
