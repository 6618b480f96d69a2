/*
 * Progress while a load test runs: one status text (elapsed of planned, connections, iterations and
 * their rate, the main trend's p95 so far, errors). On a terminal it is one line redrawn in place;
 * in CI logs it is printed as a plain line every few seconds.
 */
import { parseDuration } from './durations.ts';
import type { Options } from './options.ts';
import type { Registry } from './registry.ts';
import { intervalSeconds, type Series, type SeriesInterval } from './timeseries.ts';

/** How long the scenarios are planned to run, from the run's start to the last one's end (graceful stops aside). */
export function plannedMs(options: Options): number {
  return Math.max(
    ...Object.values(options.scenarios).map((scenario) => {
      const length =
        'duration' in scenario
          ? parseDuration(scenario.duration)
          : scenario.stages.reduce((sum, stage) => sum + parseDuration(stage.duration), 0);
      return parseDuration(scenario.startTime) + length;
    }),
  );
}

export interface ProgressState {
  readonly scenario: string;
  readonly elapsedMs: number;
  readonly plannedMs: number;
  readonly connections: number;
  readonly registry: Registry;
  /** The trend whose p95 so far is shown. */
  readonly trend: string;
  /** The series so far: the last full interval gives the iteration rate. */
  readonly series: Series;
}

const seconds = (ms: number) => `${Math.floor(ms / 1000)}s`;

function lastRate(series: Series, counter: string): string {
  const last: SeriesInterval | undefined = series.intervals.at(-1);
  const length = last === undefined ? 0 : intervalSeconds(series, last.index);
  return length > 0 ? ((last!.counters[counter] ?? 0) / length).toFixed(1) : '-';
}

export function progressText(state: ProgressState): string {
  const { registry } = state;
  const count = (name: string) => (registry.get(name)?.type === 'counter' ? registry.counter(name).select().count : 0);
  const p95 = registry.get(state.trend) === undefined ? undefined : registry.trend(state.trend).select().percentile(95);
  const dropped = count('dropped_iterations');
  return [
    `${state.scenario}: ${seconds(state.elapsedMs)}/${seconds(state.plannedMs)}`,
    `connections=${state.connections}`,
    `iterations=${count('iterations')} (${lastRate(state.series, 'iterations')}/s)`,
    `${state.trend} p95=${p95 === undefined ? '-' : `${p95.toFixed(1)}ms`}`,
    `errors=${count('iteration_errors')}`,
    ...(dropped > 0 ? [`dropped=${dropped}`] : []),
  ].join(' ');
}

const CLEAR_LINE = '\r\x1b[2K';

/** A status line kept at the bottom of a terminal: redrawn in place, other lines printed above it. */
export class LiveLine {
  #text = '';

  constructor(private readonly out: NodeJS.WriteStream) {}

  /** Shows `text` in place of the previous status; cut to the terminal's width, as a wrapped line could not be redrawn. */
  show(text: string): void {
    const width = this.out.columns ?? 80;
    this.#text = text.length < width ? text : `${text.slice(0, width - 2)}…`;
    this.out.write(`${CLEAR_LINE}${this.#text}`);
  }

  /** Prints a line above the status line. */
  print(line: string): void {
    this.out.write(`${CLEAR_LINE}${line}\n${this.#text}`);
  }

  /** Removes the status line; what is printed next takes its place. */
  stop(): void {
    this.out.write(CLEAR_LINE);
    this.#text = '';
  }
}
