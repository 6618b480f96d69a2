/*
 * Drill reports in reports/drills/<timestamp>-<drill>/: report.json for machines, report.md and a
 * self-contained report.html (inline SVG timeline) for people, rendered by the report kit.
 */
import { join } from 'node:path';
import type { ReportDocument, Table } from '../../scripts/lib/report/document.ts';
import { jsonFile, runDirName, writeFiles } from '../../scripts/lib/report/files.ts';
import { renderHtml } from '../../scripts/lib/report/html.ts';
import { renderMarkdown } from '../../scripts/lib/report/markdown.ts';
import { timelineSvg, type TimelineChart } from '../../scripts/lib/report/timeline-chart.ts';
import { repoRoot } from '../../scripts/lib/tools.ts';
import { verdict, type ObjectiveResult } from './objectives.ts';

export type ReportTable = Table;

/** What every drill's report starts with, so runs of any drill compare and index alike. */
export interface DrillReportHeader<Drill extends string, Target extends string> {
  readonly drill: Drill;
  readonly target: Target;
  readonly environment: string;
  readonly command: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly passed: boolean;
  /** Why the drill failed, one sentence each; empty when it passed. */
  readonly failures: readonly string[];
}

/** The header of a drill that has just finished, with its verdict on `failures` and `results`. */
export function finishedDrillHeader<Drill extends string, Target extends string>(
  run: Pick<DrillReportHeader<Drill, Target>, 'drill' | 'target' | 'environment' | 'command' | 'startedAt'>,
  failures: readonly string[],
  results: readonly ObjectiveResult[],
): DrillReportHeader<Drill, Target> {
  return { ...run, finishedAt: new Date().toISOString(), ...verdict(failures, results) };
}

/** What people read: the same facts as the JSON, arranged. */
export interface ReportView {
  readonly title: string;
  readonly passed: boolean;
  readonly failures: readonly string[];
  readonly command: string;
  /** Headline figures, label and value. */
  readonly facts: readonly (readonly [string, string])[];
  readonly tables: readonly ReportTable[];
  readonly notes: readonly string[];
  readonly timeline: TimelineChart;
}

export const DEFAULT_REPORTS_DIR = join(repoRoot, 'reports', 'drills');

export interface WrittenReport {
  readonly dir: string;
  readonly files: readonly string[];
}

export function writeDrillReport(
  drill: string,
  data: unknown,
  view: ReportView,
  reportsDir = DEFAULT_REPORTS_DIR,
  at = new Date(),
): WrittenReport {
  const dir = join(reportsDir, runDirName(drill, at));
  const doc = drillDocument(view);
  const files = writeFiles(dir, {
    'report.json': jsonFile(data),
    'report.md': renderMarkdown(doc),
    'report.html': renderHtml(doc),
  });
  return { dir, files };
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);

/** The timeline as a table, for report.md. */
function timelineTable({ startMs, phases, marks }: TimelineChart): Table {
  return {
    title: 'Timeline',
    columns: ['phase', 'start (s)', 'duration (s)', 'recovery', 'detail'],
    numeric: [1, 2],
    rows: [
      ...phases.map((p) => [
        p.label,
        seconds(p.startMs - startMs),
        p.seconds.toFixed(1),
        p.recovery ? 'yes' : '',
        p.detail ?? '',
      ]),
      ...marks.map((m) => [`**${m.label}**`, seconds(m.atMs - startMs), '', '', '']),
    ],
  };
}

export function drillDocument(view: ReportView): ReportDocument {
  return {
    title: view.title,
    passed: view.passed,
    command: view.command,
    blocks: [
      ...(view.failures.length > 0
        ? [{ kind: 'list' as const, title: 'Failures', items: view.failures, tone: 'bad' as const }]
        : []),
      { kind: 'table', title: 'Figures', columns: ['figure', 'value'], rows: view.facts },
      { kind: 'figure', title: 'Timeline', svg: timelineSvg(view.timeline), fallback: timelineTable(view.timeline) },
      ...view.tables.map((table) => ({ kind: 'table' as const, ...table })),
      ...(view.notes.length > 0 ? [{ kind: 'list' as const, title: 'Notes', items: view.notes }] : []),
    ],
  };
}
