/*
 * k6's four metric types. Each keeps the untagged total plus one sink per distinct tag set, so a
 * threshold such as `dm_latency{scenario:dm}` can be answered exactly by merging the sinks whose
 * tags include the selector.
 */
import { z } from 'zod';
import {
  CounterSink,
  GaugeSink,
  RateSink,
  TrendSink,
  counterSnapshot,
  gaugeSnapshot,
  rateSnapshot,
  trendSnapshot,
} from './sinks.ts';

export type Tags = Readonly<Record<string, string>>;

/** k6's rule for metric names. */
export const METRIC_NAME = /^[a-zA-Z_][a-zA-Z0-9_]{0,127}$/;

interface Sink {
  merge(other: this): void;
  toJSON(): unknown;
}

/** How a metric type makes its sinks: empty, or from another generator's snapshot. */
interface SinkKind<S extends Sink> {
  empty(): S;
  fromJSON(snapshot: ReturnType<S['toJSON']>): S;
}

const tagsSchema = z.record(z.string(), z.string());

function metricSnapshot<T extends string, S extends z.ZodType>(type: T, sink: S) {
  return z.strictObject({
    name: z.string().regex(METRIC_NAME),
    type: z.literal(type),
    total: sink,
    byTags: z.array(z.strictObject({ tags: tagsSchema, sink })),
  });
}

export const metricSnapshotSchema = z.discriminatedUnion('type', [
  metricSnapshot('counter', counterSnapshot),
  metricSnapshot('gauge', gaugeSnapshot),
  metricSnapshot('rate', rateSnapshot),
  metricSnapshot('trend', trendSnapshot),
]);

/** Tag sets are equal whatever the order their keys were written in. */
function tagSetKey(tags: Tags): string {
  return JSON.stringify(Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function hasTags(tags: Tags, selector: Tags): boolean {
  return Object.entries(selector).every(([key, value]) => tags[key] === value);
}

abstract class Metric<S extends Sink, T extends string> {
  abstract readonly type: T;
  readonly #total: S;
  readonly #byTags = new Map<string, { tags: Tags; sink: S }>();

  constructor(
    readonly name: string,
    private readonly kind: SinkKind<S>,
  ) {
    if (!METRIC_NAME.test(name)) throw new Error(`metric name "${name}" must match ${METRIC_NAME}`);
    this.#total = kind.empty();
  }

  /** Applies one sample to the total and, when tagged, to its tag set's sink. */
  protected record(apply: (sink: S) => void, tags: Tags = {}): void {
    apply(this.#total);
    if (Object.keys(tags).length > 0) apply(this.#sinkFor(tags));
  }

  #sinkFor(tags: Tags): S {
    const key = tagSetKey(tags);
    let entry = this.#byTags.get(key);
    if (!entry) {
      entry = { tags: { ...tags }, sink: this.kind.empty() };
      this.#byTags.set(key, entry);
    }
    return entry.sink;
  }

  /** The distinct tag sets samples were recorded with. */
  get tagSets(): Tags[] {
    return [...this.#byTags.values()].map((entry) => entry.tags);
  }

  /**
   * The aggregate of the samples whose tags include every tag of `selector` (k6's sub-metric); with
   * no selector, of every sample. The result is the metric's own total when the selector is empty:
   * read it, do not add to it.
   */
  select(selector: Tags = {}): S {
    if (Object.keys(selector).length === 0) return this.#total;
    const selected = this.kind.empty();
    for (const { tags, sink } of this.#byTags.values()) if (hasTags(tags, selector)) selected.merge(sink);
    return selected;
  }

  toJSON(): {
    name: string;
    type: T;
    total: ReturnType<S['toJSON']>;
    byTags: { tags: Tags; sink: ReturnType<S['toJSON']> }[];
  } {
    return {
      name: this.name,
      type: this.type,
      total: this.#total.toJSON() as ReturnType<S['toJSON']>,
      byTags: [...this.#byTags.values()].map(({ tags, sink }) => ({
        tags,
        sink: sink.toJSON() as ReturnType<S['toJSON']>,
      })),
    };
  }

  /** Adds the samples of the same metric from another generator's registry. */
  mergeSnapshot(snapshot: {
    total: ReturnType<S['toJSON']>;
    byTags: readonly { tags: Tags; sink: ReturnType<S['toJSON']> }[];
  }): void {
    this.#total.merge(this.kind.fromJSON(snapshot.total));
    for (const { tags, sink } of snapshot.byTags) this.#sinkFor(tags).merge(this.kind.fromJSON(sink));
  }
}

export class Counter extends Metric<CounterSink, 'counter'> {
  readonly type = 'counter';

  constructor(name: string) {
    super(name, { empty: () => new CounterSink(), fromJSON: CounterSink.fromJSON });
  }

  add(value: number, tags?: Tags): void {
    this.record((sink) => sink.add(value), tags);
  }
}

export class Gauge extends Metric<GaugeSink, 'gauge'> {
  readonly type = 'gauge';

  constructor(name: string) {
    super(name, { empty: () => new GaugeSink(), fromJSON: GaugeSink.fromJSON });
  }

  add(value: number, tags?: Tags): void {
    const at = performance.timeOrigin + performance.now();
    this.record((sink) => sink.add(value, at), tags);
  }
}

export class Rate extends Metric<RateSink, 'rate'> {
  readonly type = 'rate';

  constructor(name: string) {
    super(name, { empty: () => new RateSink(), fromJSON: RateSink.fromJSON });
  }

  add(value: boolean, tags?: Tags): void {
    this.record((sink) => sink.add(value), tags);
  }
}

/** Durations in milliseconds (see TrendSink for the precision). */
export class Trend extends Metric<TrendSink, 'trend'> {
  readonly type = 'trend';

  constructor(name: string) {
    super(name, { empty: () => new TrendSink(), fromJSON: TrendSink.fromJSON });
  }

  add(ms: number, tags?: Tags): void {
    this.record((sink) => sink.add(ms), tags);
  }
}

export type AnyMetric = Counter | Gauge | Rate | Trend;
export type MetricType = AnyMetric['type'];
