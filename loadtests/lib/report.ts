/*
 * The load test's report for people, report.html and report.md beside summary.json: the verdict,
 * the thresholds, every metric's figures and charts over time, rendered by the same report kit
 * as the drills. Built only from a summary and a series, so a merged run renders the same way.
 */
import type { Block, Cell, ReportDocument, Table } from '../../scripts/lib/report/document.ts';
import { verdictCell } from '../../scripts/lib/report/document.ts';
import { writeFiles } from '../../scripts/lib/report/files.ts';
import { renderHtml } from '../../scripts/lib/report/html.ts';
import { lineChartSvg, type LineSeries, type Point } from '../../scripts/lib/report/line-chart.ts';
import { renderMarkdown } from '../../scripts/lib/report/markdown.ts';
import type { MetricSummary, Summary } from './summary.ts';
import {
  intervalCount,
  intervalPercentiles,
  intervalSeconds,
  tagText,
  type Series,
  type SeriesInterval,
} from './timeseries.ts';

export interface LoadReportInput {
  readonly summary: Summary;
  readonly series: Series;
  /** The command that ran the test (or merged the runs). */
  readonly command: string;
}

/** Counters that count something going wrong; every other counter is throughput. */
const ERROR_COUNTER = /(^|_)(errors?|dropped|unexpected|lost|gaps|duplicates|out_of_order)(_|$)/;
const RUNNER_TREND = 'iteration_duration';
const PERCENTILES = [50, 95, 99] as const;

/** Writes report.html and report.md into the run's directory; returns their paths. */
export function writeLoadReport(dir: string, input: LoadReportInput): string[] {
  const doc = loadReportDocument(input);
  return writeFiles(dir, { 'report.html': renderHtml(doc), 'report.md': renderMarkdown(doc) });
}

const namesOfType = (summary: Summary, type: MetricSummary['type']) =>
  Object.entries(summary.metrics)
    .filter(([, metric]) => metric.type === type)
    .map(([name]) => name)
    .sort();

/** The trends the scenario itself records; the runner's iteration_duration only when there is none. */
function scenarioTrends(summary: Summary): string[] {
  const trends = namesOfType(summary, 'trend');
  const own = trends.filter((name) => name !== RUNNER_TREND);
  return own.length > 0 ? own : trends;
}

/** Every interval from the first to the last, gaps included, with the time its value is drawn at. */
function timeline(series: Series): { at: number; seconds: number; interval: SeriesInterval | undefined }[] {
  const byIndex = new Map(series.intervals.map((interval) => [interval.index, interval]));
  const last = Math.max(-1, ...byIndex.keys());
  return Array.from({ length: last + 1 }, (_, index) => {
    const seconds = intervalSeconds(series, index);
    return { at: (index * series.intervalMs) / 1000 + seconds, seconds, interval: byIndex.get(index) };
  });
}

type Timeline = ReturnType<typeof timeline>;

/** A value per interval; undefined where the interval was not looked at. */
const line = (
  name: string,
  points: Timeline,
  value: (interval: SeriesInterval, seconds: number) => number | undefined,
) => ({
  name,
  points: points.map(({ at, seconds, interval }): Point => [
    at,
    interval && seconds > 0 ? value(interval, seconds) : undefined,
  ]),
});

function latencyLines(points: Timeline, trend: string): LineSeries[] {
  const percentiles = points.map(({ at, interval }) => {
    const encoded = interval?.trends[trend];
    return { at, values: encoded === undefined ? undefined : intervalPercentiles(encoded, PERCENTILES) };
  });
  return PERCENTILES.map((p, i) => ({
    name: `p${p}`,
    points: percentiles.map(({ at, values }): Point => [at, values?.[i]]),
  }));
}

function charts(summary: Summary, series: Series): Block[] {
  const points = timeline(series);
  const spanSeconds = Math.max(0, series.endMs - series.startMs) / 1000;
  const figure = (title: string, unit: string, lines: readonly LineSeries[]): Block => ({
    kind: 'figure',
    title,
    svg: lineChartSvg({ label: title, unit, series: lines, spanSeconds }),
  });
  // A sliver of an interval (the last look just after a boundary) would make a wild rate.
  const perSecond = (name: string, total: (interval: SeriesInterval) => number) =>
    line(name, points, (interval, seconds) =>
      seconds * 4_000 >= series.intervalMs ? total(interval) / seconds : undefined,
    );
  const counterPerSecond = (name: string) => perSecond(name, (i) => i.counters[name] ?? 0);
  const counters = namesOfType(summary, 'counter');
  const own = counters.filter((name) => name !== 'iterations' && !ERROR_COUNTER.test(name));
  // Without counters of its own, a scenario's throughput is what its trends measured (DMs delivered, connects).
  const throughput =
    own.length > 0
      ? own.map(counterPerSecond)
      : scenarioTrends(summary).map((trend) =>
          perSecond(`${trend} samples`, (i) => (i.trends[trend] === undefined ? 0 : intervalCount(i.trends[trend]!))),
        );
  const keysOf = (pick: (interval: SeriesInterval) => Record<string, number>) =>
    [...new Set(series.intervals.flatMap((interval) => Object.keys(pick(interval))))].sort();
  const levels = keysOf((i) => i.levels);
  const gauges = keysOf((i) => i.gauges);
  // A gauge recorded per tag set (each hub's RSS) is drawn per tag set; its total is only the last of them.
  const gaugeCharts = namesOfType(summary, 'gauge').flatMap((name) => {
    const keys = gauges.filter((key) => key === name || key.startsWith(`${name}{`));
    const tagged = keys.filter((key) => key !== name);
    const shown = tagged.length > 0 ? tagged : keys;
    return shown.length === 0
      ? []
      : [
          figure(
            name,
            unitOf(name),
            shown.map((key) => line(key, points, (i) => i.gauges[key])),
          ),
        ];
  });
  return [
    ...scenarioTrends(summary).map((trend) => figure(`${trend} over time`, 'ms', latencyLines(points, trend))),
    figure('Iterations', 'per second', [counterPerSecond('iterations')]),
    figure('Throughput', 'per second', throughput),
    figure(
      'Connections and VUs',
      'open',
      levels.map((name) => line(name, points, (i) => i.levels[name])),
    ),
    figure('Errors', 'per second', [
      ...counters.filter((name) => ERROR_COUNTER.test(name)).map(counterPerSecond),
      ...namesOfType(summary, 'rate').map((name) =>
        perSecond(`${name} false`, (i) => (i.rates[name] ? i.rates[name].total - i.rates[name].passes : 0)),
      ),
    ]),
    ...gaugeCharts,
  ];
}

/** Three significant figures or whole numbers, whichever is longer: 0.842, 12.4, 1530. */
function figureText(value: number | undefined): string {
  if (value === undefined) return '–';
  return Math.abs(value) >= 100 || Number.isInteger(value)
    ? String(Math.round(value))
    : String(Number(value.toPrecision(3)));
}

const UNITS: Readonly<Record<string, string>> = { mib: 'MiB', ms: 'ms', bytes: 'bytes', seconds: 's' };

/** A gauge's unit from the suffix of its name, as Prometheus names them. */
const unitOf = (name: string) => UNITS[/_([a-z]+)$/.exec(name)?.[1] ?? ''] ?? 'level';

/** One table per metric type: the total, then one row per tag set (k6's sub-metrics). */
function metricTable(summary: Summary, type: MetricSummary['type'], title: string, stats: readonly string[]): Table {
  const rows: Cell[][] = [];
  for (const name of namesOfType(summary, type)) {
    const metric = summary.metrics[name]!;
    const row = (label: string, values: Record<string, number | undefined>) => [
      label,
      ...stats.map((stat) => (stat === 'rate' ? percent(values.rate) : figureText(values[stat]))),
    ];
    rows.push(row(name, metric.total));
    for (const { tags, stats: values } of metric.byTags) rows.push(row(`${name}${tagText(tags)}`, values));
  }
  return { title, columns: ['metric', ...stats], rows, numeric: stats.map((_, i) => i + 1) };
}

const percent = (rate: number | undefined) => (rate === undefined ? '–' : `${Number((rate * 100).toPrecision(4))}%`);

function thresholdTable(summary: Summary): Table {
  return {
    title: 'Thresholds',
    columns: ['metric', 'expression', 'observed', 'result'],
    numeric: [2],
    rows: summary.thresholds.map((t) => {
      const type = summary.metrics[t.metric]?.type;
      const observed =
        t.observed === undefined ? '–' : type === 'trend' ? `${figureText(t.observed)} ms` : figureText(t.observed);
      return [t.key, t.expression, observed, verdictCell(t.passed, t.problem ? `FAIL (${t.problem})` : 'FAIL')];
    }),
  };
}

export function loadReportDocument({ summary, series, command }: LoadReportInput): ReportDocument {
  const seconds = (Date.parse(summary.finishedAt) - Date.parse(summary.startedAt)) / 1000;
  const tables: [MetricSummary['type'], string, string[]][] = [
    ['trend', 'Trends (ms)', ['count', 'min', 'avg', 'med', 'p90', 'p95', 'p99', 'max']],
    ['counter', 'Counters', ['count']],
    ['rate', 'Rates', ['rate', 'passes', 'total']],
    ['gauge', 'Gauges', ['value', 'min', 'max']],
  ];
  return {
    title: `Load test: ${summary.scenario} (${summary.environment}, ${summary.profile})`,
    passed: summary.passed,
    command,
    blocks: [
      {
        kind: 'table',
        title: 'Run',
        columns: ['figure', 'value'],
        rows: [
          ['scenario', summary.scenario],
          ['environment', summary.environment],
          ['profile', summary.profile],
          ['started', summary.startedAt],
          ['finished', summary.finishedAt],
          ['duration', `${seconds.toFixed(1)} s`],
          ['chart interval', `${series.intervalMs / 1000} s`],
        ],
      },
      { kind: 'table', ...thresholdTable(summary) },
      ...charts(summary, series),
      ...tables
        .map(([type, title, stats]) => metricTable(summary, type, title, stats))
        .filter((table) => table.rows.length > 0)
        .map((table): Block => ({ kind: 'table', ...table })),
    ],
  };
}
