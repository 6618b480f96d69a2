/*
 * A Gantt-style chart of a drill: one bar per phase on a shared seconds axis, marks as dashed
 * vertical lines. The label column is as wide as the longest label needs, up to 40% of the chart;
 * a label longer still takes two lines, and beyond those is cut with an ellipsis and shows in
 * full on hover.
 */
import { escapeHtml } from './html.ts';
import { formatSeconds, round, svgDocument, svgText, textWidth, timeStep, ticks, wrapText } from './svg.ts';

export interface TimelinePhase {
  readonly label: string;
  /** Epoch milliseconds. */
  readonly startMs: number;
  readonly endMs: number;
  readonly seconds: number;
  /** Drawn highlighted: the phases that add up to the recovery time. */
  readonly recovery: boolean;
  /** 'failed' draws the bar red. */
  readonly detail?: string;
}

export interface TimelineMark {
  readonly name: string;
  readonly label: string;
  readonly atMs: number;
}

export interface TimelineChart {
  readonly startMs: number;
  readonly phases: readonly TimelinePhase[];
  readonly marks: readonly TimelineMark[];
}

const WIDTH = 960;
const ROW = 24;
// A label's second line makes its row this much taller.
const LINE = 14;
const TOP = 30;
const LABEL_SIZE = 12;
const SMALL = 11;
const GAP = 8;

const duration = (seconds: number) => `${seconds.toFixed(1)} s`;

export function timelineSvg(timeline: TimelineChart): string {
  const { phases, marks, startMs } = timeline;
  const longestLabel = Math.max(0, ...phases.map((p) => textWidth(p.label, LABEL_SIZE)));
  const labelWidth = Math.min(Math.max(longestLabel + 2 * GAP, 120), WIDTH * 0.4);
  // Room right of the last bar for its duration.
  const plotRight = WIDTH - Math.max(0, ...phases.map((p) => textWidth(duration(p.seconds), SMALL))) - 2 * GAP;
  const endMs = Math.max(startMs + 1000, ...phases.map((p) => p.endMs), ...marks.map((m) => m.atMs));
  const span = (endMs - startMs) / 1000;
  const x = (ms: number) => labelWidth + ((ms - startMs) / 1000 / span) * (plotRight - labelWidth);
  const labels = phases.map((p) => wrapText(p.label, labelWidth - 2 * GAP, LABEL_SIZE, 2));
  const rowTops = labels.map(
    (_, i) => TOP + i * ROW + labels.slice(0, i).reduce((sum, l) => sum + (l.length - 1) * LINE, 0),
  );
  const height = TOP + labels.reduce((sum, l) => sum + ROW + (l.length - 1) * LINE, 0) + 30;
  const parts: string[] = [];
  for (const t of ticks(span, timeStep(span))) {
    const px = round(x(startMs + t * 1000));
    parts.push(`<line x1="${px}" y1="${TOP - 6}" x2="${px}" y2="${height - 24}" stroke="#ddd"/>`);
    parts.push(svgText(px, height - 8, formatSeconds(t), { size: SMALL, anchor: 'middle', fill: '#555' }));
  }
  phases.forEach((p, i) => {
    const lines = labels[i]!;
    // The bar sits in the middle of its row, beside the middle of its label.
    const y = rowTops[i]! + ((lines.length - 1) * LINE) / 2;
    const color = p.detail === 'failed' ? '#c0392b' : p.recovery ? '#2e86c1' : '#95a5a6';
    const left = x(p.startMs);
    const w = Math.max(2, x(p.endMs) - left);
    const cut = lines.join(' ') !== p.label;
    lines.forEach((line, j) => {
      const baseline = y + 15 + (j - (lines.length - 1) / 2) * LINE;
      const options = { size: LABEL_SIZE, anchor: 'end', ...(cut ? { title: p.label } : {}) } as const;
      parts.push(svgText(labelWidth - GAP, baseline, line, options));
    });
    parts.push(
      `<rect x="${round(left)}" y="${round(y + 3)}" width="${round(w)}" height="${ROW - 8}" rx="3" fill="${color}"><title>${escapeHtml(`${p.label}: ${p.seconds.toFixed(2)} s`)}</title></rect>`,
    );
    parts.push(svgText(left + w + 4, y + 15, duration(p.seconds), { size: SMALL, fill: '#333' }));
  });
  for (const m of marks) {
    const px = round(x(m.atMs));
    parts.push(
      `<line x1="${px}" y1="${TOP - 12}" x2="${px}" y2="${height - 24}" stroke="#c0392b" stroke-width="2" stroke-dasharray="4 3"><title>${escapeHtml(m.label)}</title></line>`,
    );
    // A mark near the right edge names itself to the left of its line.
    const rightOfLine = px + 3 + textWidth(m.name, SMALL) <= WIDTH;
    parts.push(
      svgText(rightOfLine ? px + 3 : px - 3, TOP - 14, m.name, {
        size: SMALL,
        fill: '#c0392b',
        anchor: rightOfLine ? 'start' : 'end',
      }),
    );
  }
  return svgDocument(WIDTH, height, 'drill timeline', parts);
}
