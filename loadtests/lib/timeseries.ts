/*
 * The run over time, for the report's charts: every interval (1 s by default) the recorder takes
 * what each metric gained since the last look: per trend an HDR histogram of just those samples,
 * per counter and rate the increase, per gauge its level. Intervals are numbered from a start time
 * every runner process shares, so the series of several processes merge exactly: histograms and
 * increases of the same interval add up, levels each process holds (connections, VUs) add up too,
 * and gauges that observe something shared (a hub's RSS) keep the largest look.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { z } from 'zod';
import type { Tags } from './metrics.ts';
import type { Registry } from './registry.ts';
import { describeIssue } from './validation.ts';

const count = z.number().int().nonnegative();

const intervalSchema = z.strictObject({
  /** The interval covers [startMs + index·intervalMs, startMs + (index+1)·intervalMs). */
  index: count,
  /** Per trend with samples in the interval, its histogram (microseconds), compressed and base64-encoded. */
  trends: z.record(z.string(), z.string().min(1)),
  /** Per counter, what it gained in the interval. */
  counters: z.record(z.string(), z.number().nonnegative()),
  /** Per rate, the samples it gained in the interval and how many were true. */
  rates: z.record(z.string(), z.strictObject({ passes: count, total: count })),
  /** Levels this process holds (connections, VUs) at the interval's last look. */
  levels: z.record(z.string(), z.number()),
  /** Per registry gauge and tag set (`name{tag:value}`), its value at the interval's last look. */
  gauges: z.record(z.string(), z.number()),
});

const seriesSchema = z.strictObject({
  /** Epoch milliseconds. */
  startMs: z.number(),
  intervalMs: z.number().positive(),
  /** When the last look was taken: the last interval may be shorter than the others. */
  endMs: z.number(),
  /** Ascending by index; an interval nobody looked at is missing. */
  intervals: z.array(intervalSchema),
});

export type Series = z.infer<typeof seriesSchema>;
export type SeriesInterval = Series['intervals'][number];

export const SERIES_FILE = 'series.json';
export const DEFAULT_INTERVAL_MS = 1_000;

/** `{replica:hub-1,scenario:soak}` as k6 writes a sub-metric; nothing for no tags. */
export const tagText = (tags: Tags) => {
  const entries = Object.entries(tags);
  return entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}:${v}`).join(',')}}`;
};

/** Decoded histograms grow on add: another process may have recorded larger values. */
function decodeHistogram(encoded: string): Histogram {
  const histogram = decodeFromCompressedBase64(encoded);
  histogram.autoResize = true;
  return histogram;
}

const addHistograms = (a: string, b: string) => {
  const sum = decodeHistogram(a);
  sum.add(decodeHistogram(b));
  return encodeIntoCompressedBase64(sum);
};

function addRecords<V>(a: Record<string, V>, b: Record<string, V>, add: (x: V, y: V) => V): Record<string, V> {
  const sum = { ...a };
  for (const [name, value] of Object.entries(b)) sum[name] = name in sum ? add(sum[name]!, value) : value;
  return sum;
}

/**
 * Two looks at the same interval as one. Within one process the later look of a level or gauge
 * wins; across processes levels add up and a gauge keeps the largest value.
 */
function addIntervals(a: SeriesInterval, b: SeriesInterval, across: 'looks' | 'processes'): SeriesInterval {
  const later = (_: number, y: number) => y;
  return {
    index: a.index,
    trends: addRecords(a.trends, b.trends, addHistograms),
    counters: addRecords(a.counters, b.counters, (x, y) => x + y),
    rates: addRecords(a.rates, b.rates, (x, y) => ({ passes: x.passes + y.passes, total: x.total + y.total })),
    levels: addRecords(a.levels, b.levels, across === 'looks' ? later : (x, y) => x + y),
    gauges: addRecords(a.gauges, b.gauges, across === 'looks' ? later : Math.max),
  };
}

/** The series of two runner processes of one run as one, exactly (see the top of this file). */
export function mergeSeries(a: Series, b: Series): Series {
  if (a.startMs !== b.startMs || a.intervalMs !== b.intervalMs) {
    throw new Error(
      `series do not share intervals: start ${a.startMs} vs ${b.startMs}, interval ${a.intervalMs} vs ${b.intervalMs} ms`,
    );
  }
  const byIndex = new Map<number, SeriesInterval>();
  for (const interval of [...a.intervals, ...b.intervals]) {
    const seen = byIndex.get(interval.index);
    byIndex.set(interval.index, seen ? addIntervals(seen, interval, 'processes') : interval);
  }
  return {
    startMs: a.startMs,
    intervalMs: a.intervalMs,
    endMs: Math.max(a.endMs, b.endMs),
    intervals: [...byIndex.values()].sort((x, y) => x.index - y.index),
  };
}

/** Checks a series read from a file; the message lists what is wrong. */
export function parseSeries(input: unknown, source = 'series'): Series {
  const parsed = seriesSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) {
    throw new Error(`${source} is invalid:\n${parsed.error.issues.map((i) => `  - ${describeIssue(i)}`).join('\n')}`);
  }
  return parsed.data;
}

/** The series a run wrote into its report directory. */
export function readSeries(dir: string): Series {
  const path = join(dir, SERIES_FILE);
  return parseSeries(JSON.parse(readFileSync(path, 'utf8')), path);
}

/** The length of one interval in seconds: the last one ends at the last look. */
export function intervalSeconds(series: Series, index: number): number {
  const start = series.startMs + index * series.intervalMs;
  return Math.max(0, Math.min(series.intervalMs, series.endMs - start)) / 1000;
}

/** How many samples of a trend one interval holds. */
export const intervalCount = (encoded: string) => decodeHistogram(encoded).totalCount;

/** The percentile (0-100) of one interval's samples of a trend, in milliseconds. */
export function intervalPercentiles(encoded: string, percentiles: readonly number[]): number[] {
  const histogram = decodeHistogram(encoded);
  return percentiles.map((p) => histogram.getValueAtPercentile(p) / 1000);
}

export interface RecorderOptions {
  /** Epoch milliseconds every process of the run agrees on; interval 0 starts there. */
  readonly startMs: number;
  /** @default 1000 */
  readonly intervalMs?: number;
  /**
   * Levels this process holds, read at every look, e.g. the connections open. A registry gauge of
   * the same name is left to this reading.
   */
  readonly levels?: Readonly<Record<string, () => number>>;
  /** Epoch milliseconds now. @default Date.now */
  readonly now?: () => number;
}

interface TrendSeen {
  readonly count: number;
  readonly histogram: Histogram;
}

/** Looks at a registry every interval and keeps what changed; `stop()` gives the series. */
export class SeriesRecorder {
  readonly #registry: Registry;
  readonly #startMs: number;
  readonly #intervalMs: number;
  readonly #levels: Readonly<Record<string, () => number>>;
  readonly #now: () => number;
  readonly #intervals = new Map<number, SeriesInterval>();
  readonly #counters = new Map<string, number>();
  readonly #rates = new Map<string, { passes: number; total: number }>();
  readonly #trends = new Map<string, TrendSeen>();
  #lastLookMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(registry: Registry, options: RecorderOptions) {
    this.#registry = registry;
    this.#startMs = options.startMs;
    this.#intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.#levels = options.levels ?? {};
    this.#now = options.now ?? Date.now;
    this.#lastLookMs = this.#now();
    // What was recorded before (setup) is not part of the run over time.
    this.#diff();
  }

  /** Looks at every interval boundary until `stop()`. */
  start(): this {
    const schedule = () => {
      const now = this.#now();
      const next = this.#startMs + (Math.floor((now - this.#startMs) / this.#intervalMs) + 1) * this.#intervalMs;
      this.#timer = setTimeout(() => {
        this.look();
        schedule();
      }, next - now);
    };
    schedule();
    return this;
  }

  /**
   * Records what changed since the last look into the interval holding the middle of the time
   * between the two looks: a look just after a boundary books the interval that just ended, and
   * the final look in the middle of an interval books that one.
   */
  look(): void {
    const now = this.#now();
    const middle = (this.#lastLookMs + now) / 2;
    const index = Math.max(0, Math.floor((middle - this.#startMs) / this.#intervalMs));
    this.#lastLookMs = now;
    const interval = { index, ...this.#diff() };
    const seen = this.#intervals.get(index);
    this.#intervals.set(index, seen ? addIntervals(seen, interval, 'looks') : interval);
  }

  /** The last interval booked, for a live view. */
  get latest(): SeriesInterval | undefined {
    return this.#intervals.get(Math.max(-1, ...this.#intervals.keys()));
  }

  /** Takes a final look and ends the timer. */
  stop(): Series {
    clearTimeout(this.#timer);
    this.look();
    return this.series;
  }

  get series(): Series {
    return {
      startMs: this.#startMs,
      intervalMs: this.#intervalMs,
      endMs: this.#lastLookMs,
      intervals: [...this.#intervals.values()].sort((a, b) => a.index - b.index),
    };
  }

  /** What every metric gained since the previous call. */
  #diff(): Omit<SeriesInterval, 'index'> {
    const trends: Record<string, string> = {};
    const counters: Record<string, number> = {};
    const rates: Record<string, { passes: number; total: number }> = {};
    const gauges: Record<string, number> = {};
    for (const metric of this.#registry.metrics) {
      const { name } = metric;
      if (metric.type === 'counter') {
        const total = metric.select().count;
        const gained = total - (this.#counters.get(name) ?? 0);
        this.#counters.set(name, total);
        if (gained > 0) counters[name] = gained;
      } else if (metric.type === 'rate') {
        const { passes, total } = metric.select();
        const seen = this.#rates.get(name) ?? { passes: 0, total: 0 };
        this.#rates.set(name, { passes, total });
        if (total > seen.total) rates[name] = { passes: passes - seen.passes, total: total - seen.total };
      } else if (metric.type === 'gauge') {
        if (name in this.#levels) continue;
        for (const tags of [{}, ...metric.tagSets]) {
          const value = metric.select(tags).value;
          if (value !== undefined) gauges[`${name}${tagText(tags)}`] = value;
        }
      } else {
        const sink = metric.select();
        const seen = this.#trends.get(name);
        if (sink.count === (seen?.count ?? 0)) continue;
        const encoded = sink.toJSON().histogram;
        const gained = decodeHistogram(encoded);
        if (seen) gained.subtract(seen.histogram);
        this.#trends.set(name, { count: sink.count, histogram: decodeHistogram(encoded) });
        trends[name] = encodeIntoCompressedBase64(gained);
      }
    }
    const levels = Object.fromEntries(Object.entries(this.#levels).map(([name, read]) => [name, read()]));
    return { trends, counters, rates, levels, gauges };
  }
}
