/*
 * Drill reports in reports/drills/<timestamp>-<drill>/: report.json for machines, report.md and a
 * self-contained report.html (inline SVG timeline, no external scripts or styles) for people.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../scripts/lib/tools.ts';
import type { MarkRecord, PhaseRecord } from './timeline.ts';

export interface ReportTable {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** What people read: the same facts as the JSON, arranged. */
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

export interface ReportView {
  readonly title: string;
  readonly passed: boolean;
  readonly failures: readonly string[];
  readonly command: string;
  /** Headline figures, label and value. */
  readonly facts: readonly (readonly [string, string])[];
  readonly tables: readonly ReportTable[];
  readonly notes: readonly string[];
  readonly timeline: {
    readonly startMs: number;
    readonly phases: readonly PhaseRecord[];
    readonly marks: readonly MarkRecord[];
  };
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
  const dir = join(reportsDir, `${at.toISOString().replace(/[:.]/g, '-')}-${drill}`);
  mkdirSync(dir, { recursive: true });
  const files = [
    ['report.json', `${JSON.stringify(data, null, 2)}\n`],
    ['report.md', renderMarkdown(view)],
    ['report.html', renderHtml(view)],
  ] as const;
  for (const [name, content] of files) writeFileSync(join(dir, name), content);
  return { dir, files: files.map(([name]) => join(dir, name)) };
}

const status = (passed: boolean) => (passed ? 'PASSED' : 'FAILED');
const mdCell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMarkdown(view: ReportView): string {
  const lines = [`# ${view.title}: ${status(view.passed)}`, '', `Command: \`${view.command}\``, ''];
  if (view.failures.length > 0) lines.push('## Failures', '', ...view.failures.map((f) => `- ${f}`), '');
  lines.push(
    '| figure | value |',
    '| --- | --- |',
    ...view.facts.map(([k, v]) => `| ${mdCell(k)} | ${mdCell(v)} |`),
    '',
  );
  lines.push(
    '## Timeline',
    '',
    '| phase | start (s) | duration (s) | recovery | detail |',
    '| --- | --- | --- | --- | --- |',
  );
  for (const p of view.timeline.phases) {
    const start = ((p.startMs - view.timeline.startMs) / 1000).toFixed(1);
    lines.push(
      `| ${mdCell(p.label)} | ${start} | ${p.seconds.toFixed(1)} | ${p.recovery ? 'yes' : ''} | ${mdCell(p.detail ?? '')} |`,
    );
  }
  for (const m of view.timeline.marks)
    lines.push(`| **${mdCell(m.label)}** | ${((m.atMs - view.timeline.startMs) / 1000).toFixed(1)} | | | |`);
  lines.push('');
  for (const table of view.tables) {
    lines.push(
      `## ${table.title}`,
      '',
      `| ${table.columns.join(' | ')} |`,
      `| ${table.columns.map(() => '---').join(' | ')} |`,
    );
    lines.push(...table.rows.map((row) => `| ${row.map(mdCell).join(' | ')} |`), '');
  }
  if (view.notes.length > 0) lines.push('## Notes', '', ...view.notes.map((n) => `- ${n}`), '');
  return `${lines.join('\n')}`;
}

const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A Gantt-style chart: one bar per phase on a shared seconds axis, marks as vertical lines. */
export function timelineSvg(timeline: ReportView['timeline']): string {
  const width = 960;
  const labelWidth = 330;
  const row = 24;
  const top = 30;
  const phases = timeline.phases;
  const endMs = Math.max(timeline.startMs + 1000, ...phases.map((p) => p.endMs), ...timeline.marks.map((m) => m.atMs));
  const span = (endMs - timeline.startMs) / 1000;
  const x = (ms: number) => labelWidth + ((ms - timeline.startMs) / 1000 / span) * (width - labelWidth - 20);
  const height = top + phases.length * row + 30;
  const parts: string[] = [];
  const step = niceStep(span);
  for (let t = 0; t <= span; t += step) {
    const px = x(timeline.startMs + t * 1000);
    parts.push(`<line x1="${px}" y1="${top - 6}" x2="${px}" y2="${height - 24}" stroke="#ddd"/>`);
    parts.push(`<text x="${px}" y="${height - 8}" font-size="11" text-anchor="middle" fill="#555">${t}s</text>`);
  }
  phases.forEach((p, i) => {
    const y = top + i * row;
    const color = p.detail === 'failed' ? '#c0392b' : p.recovery ? '#2e86c1' : '#95a5a6';
    const w = Math.max(2, x(p.endMs) - x(p.startMs));
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + 15}" font-size="12" text-anchor="end">${escape(p.label.slice(0, 52))}</text>`,
    );
    parts.push(
      `<rect x="${x(p.startMs)}" y="${y + 3}" width="${w}" height="${row - 8}" rx="3" fill="${color}"><title>${escape(`${p.label}: ${p.seconds.toFixed(2)} s`)}</title></rect>`,
    );
    parts.push(
      `<text x="${x(p.startMs) + w + 4}" y="${y + 15}" font-size="11" fill="#333">${p.seconds.toFixed(1)} s</text>`,
    );
  });
  for (const m of timeline.marks) {
    const px = x(m.atMs);
    parts.push(
      `<line x1="${px}" y1="${top - 12}" x2="${px}" y2="${height - 24}" stroke="#c0392b" stroke-width="2" stroke-dasharray="4 3"><title>${escape(m.label)}</title></line>`,
    );
    parts.push(`<text x="${px + 3}" y="${top - 14}" font-size="11" fill="#c0392b">${escape(m.name)}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="drill timeline">${parts.join('')}</svg>`;
}

function niceStep(spanSeconds: number): number {
  const raw = spanSeconds / 10;
  const magnitude = 10 ** Math.floor(Math.log10(Math.max(raw, 0.001)));
  return [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
}

export function renderHtml(view: ReportView): string {
  const table = (t: ReportTable) =>
    `<h2>${escape(t.title)}</h2><table><tr>${t.columns.map((c) => `<th>${escape(c)}</th>`).join('')}</tr>${t.rows
      .map((r) => `<tr>${r.map((c) => `<td>${escape(c)}</td>`).join('')}</tr>`)
      .join('')}</table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(view.title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:1000px;color:#222}
.status{display:inline-block;padding:.2rem .6rem;border-radius:4px;color:#fff;background:${view.passed ? '#1e8449' : '#c0392b'}}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left;font-size:14px}
th{background:#f4f6f7}code{background:#f4f6f7;padding:.1rem .3rem}.failures li{color:#c0392b}
</style></head><body>
<h1>${escape(view.title)} <span class="status">${status(view.passed)}</span></h1>
<p>Command: <code>${escape(view.command)}</code></p>
${view.failures.length > 0 ? `<h2>Failures</h2><ul class="failures">${view.failures.map((f) => `<li>${escape(f)}</li>`).join('')}</ul>` : ''}
${table({ title: 'Figures', columns: ['figure', 'value'], rows: view.facts })}
<h2>Timeline</h2>
${timelineSvg(view.timeline)}
${view.tables.map(table).join('\n')}
${view.notes.length > 0 ? `<h2>Notes</h2><ul>${view.notes.map((n) => `<li>${escape(n)}</li>`).join('')}</ul>` : ''}
</body></html>
`;
}
