/*
 * The metrics of one run by name, k6's `checks` among them. A registry serializes to JSON and any
 * number of serialized registries (one per load generator) merge exactly into one.
 */
import { z } from 'zod';
import {
  Counter,
  Gauge,
  Rate,
  Trend,
  metricSnapshotSchema,
  type AnyMetric,
  type MetricType,
  type Tags,
} from './metrics.ts';
import { describeIssue } from './validation.ts';

const registrySnapshot = z.strictObject({ metrics: z.array(metricSnapshotSchema) });

export type RegistrySnapshot = z.infer<typeof registrySnapshot>;

/** Named predicates over one value, as k6's `check()` takes them. */
export type Checks<T> = Readonly<Record<string, (value: T) => boolean>>;

const METRIC_CLASSES = { counter: Counter, gauge: Gauge, rate: Rate, trend: Trend } as const;

export class Registry {
  readonly #metrics = new Map<string, AnyMetric>();

  counter(name: string): Counter {
    return this.#metric(name, 'counter');
  }

  gauge(name: string): Gauge {
    return this.#metric(name, 'gauge');
  }

  rate(name: string): Rate {
    return this.#metric(name, 'rate');
  }

  trend(name: string): Trend {
    return this.#metric(name, 'trend');
  }

  /** The metric of that name, whatever its type; undefined when nothing created it. */
  get(name: string): AnyMetric | undefined {
    return this.#metrics.get(name);
  }

  get metrics(): AnyMetric[] {
    return [...this.#metrics.values()];
  }

  #metric<T extends MetricType>(name: string, type: T): InstanceType<(typeof METRIC_CLASSES)[T]> {
    let metric = this.#metrics.get(name);
    if (!metric) {
      metric = new METRIC_CLASSES[type](name);
      this.#metrics.set(name, metric);
    }
    if (metric.type !== type) throw new Error(`metric ${name} is a ${metric.type}, not a ${type}`);
    return metric as InstanceType<(typeof METRIC_CLASSES)[T]>;
  }

  /**
   * k6's `check()`: runs every named predicate on `value` and records each outcome in the `checks`
   * rate, tagged `check: <name>` beside `tags`. True when every check passed.
   */
  check<T>(value: T, checks: Checks<T>, tags: Tags = {}): boolean {
    const rate = this.rate('checks');
    let passed = true;
    for (const [name, predicate] of Object.entries(checks)) {
      const ok = predicate(value);
      rate.add(ok, { ...tags, check: name });
      passed &&= ok;
    }
    return passed;
  }

  toJSON(): RegistrySnapshot {
    return { metrics: this.metrics.map((metric) => metric.toJSON()) };
  }

  /** One registry holding the samples of every snapshot, as if one generator had recorded them all. */
  static merge(snapshots: readonly unknown[]): Registry {
    const registry = new Registry();
    snapshots.forEach((input, i) => {
      const parsed = registrySnapshot.safeParse(input, { reportInput: true });
      if (!parsed.success) {
        throw new Error(
          `registry snapshot ${i} is invalid:\n${parsed.error.issues.map((p) => `  - ${describeIssue(p)}`).join('\n')}`,
        );
      }
      for (const snapshot of parsed.data.metrics) {
        if (snapshot.type === 'counter') registry.counter(snapshot.name).mergeSnapshot(snapshot);
        else if (snapshot.type === 'gauge') registry.gauge(snapshot.name).mergeSnapshot(snapshot);
        else if (snapshot.type === 'rate') registry.rate(snapshot.name).mergeSnapshot(snapshot);
        else registry.trend(snapshot.name).mergeSnapshot(snapshot);
      }
    });
    return registry;
  }
}
