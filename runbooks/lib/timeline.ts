/*
 * The clock of a drill: named phases timed separately (the report's timeline chart and the RTO
 * breakdown come from them) and instant marks, printed as they happen so an operator watching a
 * drill sees where it is.
 */
import { spinner } from 'zx';
import type { TimelineMark, TimelinePhase } from '../../scripts/lib/report/timeline-chart.ts';

/** A phase as the report's timeline draws it, with the name code looks it up by. */
export interface PhaseRecord extends TimelinePhase {
  readonly name: string;
}

export type MarkRecord = TimelineMark;

export type Printer = (line: string) => void;

export const printToStdout: Printer = (line) => process.stdout.write(`${line}\n`);

const seconds = (ms: number) => Math.round(ms) / 1000;

export class Timeline {
  readonly startMs = Date.now();
  readonly phases: PhaseRecord[] = [];
  readonly marks: MarkRecord[] = [];

  constructor(
    private readonly drill: string,
    private readonly print: Printer = printToStdout,
  ) {}

  /** Runs one phase; its duration is recorded even when it throws, so a failed drill still has a timeline. */
  async phase<T>(
    name: string,
    label: string,
    fn: () => Promise<T>,
    options: { recovery?: boolean; detail?: (result: T) => string } = {},
  ): Promise<T> {
    const startMs = Date.now();
    this.print(`[${this.drill}] ▶ ${label}`);
    const record = (detail?: string) =>
      this.phases.push({
        name,
        label,
        startMs,
        endMs: Date.now(),
        seconds: seconds(Date.now() - startMs),
        recovery: options.recovery ?? false,
        ...(detail === undefined ? {} : { detail }),
      });
    try {
      // The spinner only helps a person at a terminal; in logs it would be noise.
      const result = process.stderr.isTTY ? await spinner(label, fn) : await fn();
      const detail = options.detail?.(result);
      record(detail);
      this.print(`[${this.drill}] ✔ ${label} (${seconds(Date.now() - startMs)} s)${detail ? ` — ${detail}` : ''}`);
      return result;
    } catch (error) {
      record('failed');
      this.print(`[${this.drill}] ✘ ${label} failed after ${seconds(Date.now() - startMs)} s`);
      throw error;
    }
  }

  mark(name: string, label: string, atMs = Date.now()): void {
    this.marks.push({ name, label, atMs });
    this.print(`[${this.drill}] • ${label}`);
  }

  info(line: string): void {
    this.print(`[${this.drill}]   ${line}`);
  }

  seconds(name: string): number {
    const phase = this.phases.find((p) => p.name === name);
    if (phase === undefined) throw new Error(`no phase ${name} in the timeline`);
    return phase.seconds;
  }
}
