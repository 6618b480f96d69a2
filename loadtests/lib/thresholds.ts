/*
 * k6 thresholds: `<stat><op><number>` rules on a metric or a tag-selected part of it, the pass/fail
 * contract of a load test. Parsing is separate from evaluation so that options can reject a bad rule
 * before anything runs.
 */
import { METRIC_NAME, type AnyMetric, type Tags } from './metrics.ts';
import type { Registry } from './registry.ts';

/** k6's exit code when a threshold failed. */
export const THRESHOLDS_FAILED_EXIT_CODE = 99;

const OPERATORS = {
  '<': (a: number, b: number) => a < b,
  '<=': (a: number, b: number) => a <= b,
  '>': (a: number, b: number) => a > b,
  '>=': (a: number, b: number) => a >= b,
  '==': (a: number, b: number) => a === b,
  '===': (a: number, b: number) => a === b,
  '!=': (a: number, b: number) => a !== b,
} as const;

export type Operator = keyof typeof OPERATORS;

/** The stats each metric type can be held to; `p(N)` stands for any percentile of a trend. */
const STATS = {
  trend: ['avg', 'min', 'med', 'max', 'count', 'p(N)'],
  counter: ['count'],
  rate: ['rate'],
  gauge: ['value', 'min', 'max'],
} as const;

const EXPRESSION =
  /^\s*(avg|min|max|med|count|rate|value|p\(\s*(\d+(?:\.\d+)?)\s*\))\s*(===|==|!=|<=|>=|<|>)\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*$/;
const KEY = /^([^{}]+?)\s*(?:\{([^{}]*)\})?$/;

export interface ThresholdRule {
  /** The stat as written without spaces: `avg`, `p(95)`, `rate`... */
  readonly stat: string;
  /** For `p(N)`, N. */
  readonly percentile?: number;
  readonly operator: Operator;
  readonly bound: number;
}

export interface ThresholdTarget {
  readonly metric: string;
  /** Tags a sample must carry to count, from `metric{tag:value,...}`; empty for the whole metric. */
  readonly selector: Tags;
}

export interface Threshold extends ThresholdTarget, ThresholdRule {
  /** The key in `thresholds` as written, e.g. `dm_latency{scenario:dm}`. */
  readonly key: string;
  /** The position in the key's list. */
  readonly index: number;
  readonly expression: string;
  /** Stop the run as soon as this threshold fails. */
  readonly abortOnFail: boolean;
  /** How long into the run a failure may not abort it yet, so early noise does not end a test. */
  readonly delayAbortEvalMs: number;
}

export interface ThresholdResult {
  readonly threshold: Threshold;
  readonly passed: boolean;
  /** The stat's value; undefined when no sample was recorded for it. */
  readonly observed: number | undefined;
  /** Why the threshold could not be evaluated, when it could not. */
  readonly problem?: string;
}

export interface ThresholdsVerdict {
  readonly passed: boolean;
  readonly results: readonly ThresholdResult[];
}

/** `dm_latency{scenario:dm,replica:"a"}` into the metric name and its tag selector. */
export function parseThresholdKey(key: string): ThresholdTarget {
  const [, name = '', selectorText] = KEY.exec(key.trim()) ?? [];
  const metric = name.trim();
  if (!METRIC_NAME.test(metric)) {
    throw new Error(
      `"${key}" does not name a metric: use name or name{tag:value,...}, the name matching ${METRIC_NAME}`,
    );
  }
  if (selectorText === undefined) return { metric, selector: {} };
  const selector: Record<string, string> = {};
  const unquote = (text: string) => text.trim().replace(/^(["'])(.*)\1$/, '$2');
  for (const pair of selectorText.split(',')) {
    const colon = pair.indexOf(':');
    const [tag, value] = [unquote(pair.slice(0, colon)), unquote(pair.slice(colon + 1))];
    if (colon < 0 || !tag || !value) {
      throw new Error(`"${key}" has a bad tag selector: use {tag:value,...}, e.g. ${metric}{scenario:dm}`);
    }
    selector[tag] = value;
  }
  return { metric, selector };
}

/** `p(95)<50` into its stat, operator and bound. */
export function parseThresholdExpression(expression: string): ThresholdRule {
  const match = EXPRESSION.exec(expression);
  if (!match) {
    throw new Error(`"${expression}" is not a threshold expression: use <stat><op><number>, e.g. p(95)<50`);
  }
  const [, stat = '', percentileText, operator, bound] = match;
  const rule = { operator: operator as Operator, bound: Number(bound) };
  if (percentileText === undefined) return { stat, ...rule };
  const percentile = Number(percentileText);
  if (percentile > 100) throw new Error(`"${expression}": the percentile must be between 0 and 100`);
  return { stat: `p(${percentile})`, percentile, ...rule };
}

function observe(metric: AnyMetric, threshold: Threshold): number | undefined {
  const { selector, stat, percentile } = threshold;
  switch (metric.type) {
    case 'trend': {
      const sink = metric.select(selector);
      if (percentile !== undefined) return sink.percentile(percentile);
      return { avg: sink.avg, min: sink.min, med: sink.med, max: sink.max, count: sink.count }[stat];
    }
    case 'counter':
      return metric.select(selector).count;
    case 'rate':
      return metric.select(selector).rate;
    case 'gauge': {
      const sink = metric.select(selector);
      return { value: sink.value, min: sink.min, max: sink.max }[stat];
    }
  }
}

function evaluate(registry: Registry, threshold: Threshold): ThresholdResult {
  const metric = registry.get(threshold.metric);
  if (!metric) {
    return {
      threshold,
      passed: false,
      observed: undefined,
      problem: `no metric named ${threshold.metric} was recorded`,
    };
  }
  const stats: readonly string[] = STATS[metric.type];
  const applies = threshold.percentile === undefined ? stats.includes(threshold.stat) : metric.type === 'trend';
  if (!applies) {
    const problem = `${threshold.stat} does not apply to ${metric.type} ${metric.name} (use ${stats.join(', ')})`;
    return { threshold, passed: false, observed: undefined, problem };
  }
  const observed = observe(metric, threshold);
  if (observed === undefined) {
    return { threshold, passed: false, observed, problem: `no samples of ${threshold.key} were recorded` };
  }
  return { threshold, passed: OPERATORS[threshold.operator](observed, threshold.bound), observed };
}

/** Every threshold against the registry's current samples; the run passes when all of them do. */
export function evaluateThresholds(registry: Registry, thresholds: readonly Threshold[]): ThresholdsVerdict {
  const results = thresholds.map((threshold) => evaluate(registry, threshold));
  return { passed: results.every((result) => result.passed), results };
}

/**
 * The failures that end the run `elapsedMs` into it: `abortOnFail` thresholds past their
 * `delayAbortEval` that an observed value breached. One without samples yet has not breached.
 */
export function abortingFailures(verdict: ThresholdsVerdict, elapsedMs: number): ThresholdResult[] {
  return verdict.results.filter(
    ({ threshold, passed, observed }) =>
      !passed && observed !== undefined && threshold.abortOnFail && elapsedMs >= threshold.delayAbortEvalMs,
  );
}
