/*
 * Sinks (k6's word) aggregate the samples of one metric for one tag set. Each one merges exactly
 * with another of its kind and round-trips through a JSON snapshot, so the registries of several
 * load generators add up to the registry one generator fed every sample would hold.
 */
import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { z } from 'zod';

export const counterSnapshot = z.strictObject({ count: z.number().nonnegative() });
export const rateSnapshot = z.strictObject({
  passes: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
});
export const gaugeSnapshot = z.strictObject({
  samples: z.number().int().nonnegative(),
  last: z.number(),
  lastAt: z.number(),
  min: z.number(),
  max: z.number(),
});
export const trendSnapshot = z.strictObject({
  histogram: z.string().min(1),
  sumMicros: z.number().int().nonnegative(),
  minMicros: z.number().int().nonnegative(),
  maxMicros: z.number().int().nonnegative(),
});

export type CounterSnapshot = z.infer<typeof counterSnapshot>;
export type RateSnapshot = z.infer<typeof rateSnapshot>;
export type GaugeSnapshot = z.infer<typeof gaugeSnapshot>;
export type TrendSnapshot = z.infer<typeof trendSnapshot>;

function requireNonNegative(kind: string, value: number): void {
  if (!Number.isFinite(value) || value < 0)
    throw new RangeError(`${kind} values must be finite and >= 0 (got ${value})`);
}

export class CounterSink {
  #count = 0;

  /** The sum of every added value, as k6 reports a counter's `count`. */
  get count(): number {
    return this.#count;
  }

  add(value: number): void {
    requireNonNegative('counter', value);
    this.#count += value;
  }

  merge(other: CounterSink): void {
    this.#count += other.#count;
  }

  toJSON(): CounterSnapshot {
    return { count: this.#count };
  }

  static fromJSON(snapshot: CounterSnapshot): CounterSink {
    const sink = new CounterSink();
    sink.#count = snapshot.count;
    return sink;
  }
}

export class RateSink {
  #passes = 0;
  #total = 0;

  get passes(): number {
    return this.#passes;
  }

  get total(): number {
    return this.#total;
  }

  /** The fraction of true samples; undefined before the first sample. */
  get rate(): number | undefined {
    return this.#total === 0 ? undefined : this.#passes / this.#total;
  }

  add(value: boolean): void {
    this.#total += 1;
    if (value) this.#passes += 1;
  }

  merge(other: RateSink): void {
    this.#passes += other.#passes;
    this.#total += other.#total;
  }

  toJSON(): RateSnapshot {
    return { passes: this.#passes, total: this.#total };
  }

  static fromJSON(snapshot: RateSnapshot): RateSink {
    const sink = new RateSink();
    sink.#passes = snapshot.passes;
    sink.#total = snapshot.total;
    return sink;
  }
}

export class GaugeSink {
  #samples = 0;
  #last = 0;
  // Wall-clock time of the last sample, so merged generators agree on which value came last.
  #lastAt = 0;
  #min = Infinity;
  #max = -Infinity;

  /** The last value set; undefined before the first sample. */
  get value(): number | undefined {
    return this.#samples === 0 ? undefined : this.#last;
  }

  get min(): number | undefined {
    return this.#samples === 0 ? undefined : this.#min;
  }

  get max(): number | undefined {
    return this.#samples === 0 ? undefined : this.#max;
  }

  add(value: number, at: number): void {
    if (!Number.isFinite(value)) throw new RangeError(`gauge values must be finite (got ${value})`);
    this.#samples += 1;
    if (at >= this.#lastAt) [this.#last, this.#lastAt] = [value, at];
    this.#min = Math.min(this.#min, value);
    this.#max = Math.max(this.#max, value);
  }

  merge(other: GaugeSink): void {
    if (other.#samples === 0) return;
    this.#samples += other.#samples;
    if (other.#lastAt >= this.#lastAt) [this.#last, this.#lastAt] = [other.#last, other.#lastAt];
    this.#min = Math.min(this.#min, other.#min);
    this.#max = Math.max(this.#max, other.#max);
  }

  toJSON(): GaugeSnapshot {
    const empty = this.#samples === 0;
    return {
      samples: this.#samples,
      last: this.#last,
      lastAt: this.#lastAt,
      min: empty ? 0 : this.#min,
      max: empty ? 0 : this.#max,
    };
  }

  static fromJSON(snapshot: GaugeSnapshot): GaugeSink {
    const sink = new GaugeSink();
    if (snapshot.samples === 0) return sink;
    sink.#samples = snapshot.samples;
    [sink.#last, sink.#lastAt] = [snapshot.last, snapshot.lastAt];
    [sink.#min, sink.#max] = [snapshot.min, snapshot.max];
    return sink;
  }
}

const MICROS_PER_MS = 1_000;

/**
 * Durations in milliseconds, recorded as whole microseconds in an HDR histogram (1 µs to 1 hour at
 * 3 significant digits, growing past an hour rather than failing). Percentiles come from the
 * histogram; count, min, max and mean are kept exactly beside it, in integer microseconds so that
 * merged sums do not depend on the order of addition.
 */
export class TrendSink {
  readonly #histogram: Histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600 * 1_000_000,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });
  #sumMicros = 0;
  #minMicros = Infinity;
  #maxMicros = 0;

  get count(): number {
    return this.#histogram.totalCount;
  }

  get avg(): number | undefined {
    return this.count === 0 ? undefined : this.#sumMicros / this.count / MICROS_PER_MS;
  }

  get min(): number | undefined {
    return this.count === 0 ? undefined : this.#minMicros / MICROS_PER_MS;
  }

  get max(): number | undefined {
    return this.count === 0 ? undefined : this.#maxMicros / MICROS_PER_MS;
  }

  get med(): number | undefined {
    return this.percentile(50);
  }

  /**
   * The value at `percentile` (0-100) in milliseconds: HDR's highest value equivalent to the sample
   * at that rank, so at most 0.1% above it and never below, which keeps thresholds conservative.
   */
  percentile(percentile: number): number | undefined {
    if (!(percentile >= 0 && percentile <= 100)) throw new RangeError(`percentile must be 0-100 (got ${percentile})`);
    return this.count === 0 ? undefined : this.#histogram.getValueAtPercentile(percentile) / MICROS_PER_MS;
  }

  add(ms: number): void {
    requireNonNegative('trend', ms);
    const micros = Math.round(ms * MICROS_PER_MS);
    this.#histogram.recordValue(micros);
    this.#sumMicros += micros;
    this.#minMicros = Math.min(this.#minMicros, micros);
    this.#maxMicros = Math.max(this.#maxMicros, micros);
  }

  merge(other: TrendSink): void {
    if (other.count === 0) return;
    this.#histogram.add(other.#histogram);
    this.#sumMicros += other.#sumMicros;
    this.#minMicros = Math.min(this.#minMicros, other.#minMicros);
    this.#maxMicros = Math.max(this.#maxMicros, other.#maxMicros);
  }

  toJSON(): TrendSnapshot {
    return {
      histogram: encodeIntoCompressedBase64(this.#histogram),
      sumMicros: this.#sumMicros,
      minMicros: this.count === 0 ? 0 : this.#minMicros,
      maxMicros: this.#maxMicros,
    };
  }

  static fromJSON(snapshot: TrendSnapshot): TrendSink {
    const sink = new TrendSink();
    const decoded = decodeFromCompressedBase64(snapshot.histogram);
    // Added into a fresh histogram so every sink shares one configuration, whatever the encoder used.
    sink.#histogram.add(decoded);
    if (sink.count === 0) return sink;
    sink.#sumMicros = snapshot.sumMicros;
    sink.#minMicros = snapshot.minMicros;
    sink.#maxMicros = snapshot.maxMicros;
    return sink;
  }
}
