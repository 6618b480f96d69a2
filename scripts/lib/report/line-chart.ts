/*
 * Line charts over time: one or more series on a seconds axis from the start of a run, a legend,
 * axis ticks at round steps and the unit over the value axis. An undefined value (nothing was
 * measured in that interval) breaks the line rather than drawing it down to zero.
 */
import { escapeHtml } from './html.ts';
import { formatSeconds, formatTick, niceStep, round, svgDocument, svgText, textWidth, ticks, timeStep } from './svg.ts';

export type Point = readonly [seconds: number, value: number | undefined];

export interface LineSeries {
  readonly name: string;
  readonly points: readonly Point[];
}

export interface LineChart {
  /** What the chart shows, for screen readers. */
  readonly label: string;
  /** The unit of the values, written over the value axis: "ms", "per second". */
  readonly unit: string;
  readonly series: readonly LineSeries[];
  /** The length of the time axis; at least the last point. */
  readonly spanSeconds: number;
}

const COLORS = ['#2e86c1', '#e67e22', '#c0392b', '#27ae60', '#8e44ad', '#7f8c8d', '#16a085', '#d35400'];
// Series that coincide (delivered = expected) stay visible: each later one is dashed finer.
const DASHES = ['', '7 4', '2 3', '10 3 2 3'];

/** Colour and dash attributes of the i-th series, the same in the legend and the plot. */
function stroke(i: number, width: number): string {
  const dash = DASHES[i % DASHES.length]!;
  return `stroke="${COLORS[i % COLORS.length]!}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ''}`;
}

const WIDTH = 960;
const PLOT_HEIGHT = 200;
const FONT = 12;
const SMALL = 11;
const LEGEND_ROW = 18;
// Markers help read sparse series; on dense ones they would only blur the line.
const MARKERS_UP_TO = 60;

function legend(series: readonly LineSeries[], left: number): { parts: string[]; height: number } {
  const parts: string[] = [];
  let x = left;
  let y = 14;
  series.forEach((s, i) => {
    const width = 28 + textWidth(s.name, FONT) + 18;
    if (x + width > WIDTH && x > left) [x, y] = [left, y + LEGEND_ROW];
    parts.push(`<line x1="${round(x)}" y1="${y - 4}" x2="${round(x + 24)}" y2="${y - 4}" ${stroke(i, 3)}/>`);
    parts.push(svgText(x + 28, y, s.name, { size: FONT, maxWidth: WIDTH - x - 28 }));
    x += width;
  });
  return { parts, height: y + 8 };
}

/** Runs of consecutive defined points: each becomes one polyline. */
function runs(points: readonly Point[]): [number, number][][] {
  const result: [number, number][][] = [];
  let current: [number, number][] = [];
  for (const [t, v] of points) {
    if (v === undefined) {
      if (current.length > 0) result.push(current);
      current = [];
    } else current.push([t, v]);
  }
  if (current.length > 0) result.push(current);
  return result;
}

export function lineChartSvg(chart: LineChart): string {
  const values = chart.series.flatMap((s) => s.points.map(([, v]) => v)).filter((v) => v !== undefined);
  // Headroom, so that a flat line at the maximum does not run along the top edge.
  const top = Math.max(0, ...values) * 1.05 || 1;
  const yStep = niceStep(top, 5);
  const yMax = Math.ceil(top / yStep - 1e-9) * yStep;
  const yTicks = ticks(yMax, yStep);
  const yLabels = yTicks.map((v) => formatTick(v, yStep));

  const plotLeft = Math.max(40, ...yLabels.map((label) => textWidth(label, SMALL) + 14));
  const span = Math.max(chart.spanSeconds, ...chart.series.flatMap((s) => s.points.map(([t]) => t)), 1);
  const xTicks = ticks(span, timeStep(span));
  const xLabels = xTicks.map(formatSeconds);
  // Half the last tick label may stand right of the axis end.
  const plotRight = WIDTH - Math.max(8, textWidth(xLabels.at(-1)!, SMALL) / 2 + 4);

  const key = legend(chart.series, plotLeft);
  const plotTop = key.height + 20;
  const plotBottom = plotTop + PLOT_HEIGHT;
  const height = plotBottom + 26;
  const x = (t: number) => plotLeft + (t / span) * (plotRight - plotLeft);
  const y = (v: number) => plotBottom - (v / yMax) * (plotBottom - plotTop);

  const parts = [...key.parts];
  parts.push(svgText(4, plotTop - 10, chart.unit, { size: SMALL, fill: '#555', maxWidth: plotRight - 4 }));
  yTicks.forEach((v, i) => {
    const py = round(y(v));
    parts.push(
      `<line x1="${plotLeft}" y1="${py}" x2="${round(plotRight)}" y2="${py}" stroke="${v === 0 ? '#999' : '#e5e5e5'}"/>`,
    );
    parts.push(svgText(plotLeft - 6, py + 4, yLabels[i]!, { size: SMALL, anchor: 'end', fill: '#555' }));
  });
  xTicks.forEach((t, i) => {
    const px = round(x(t));
    parts.push(`<line x1="${px}" y1="${plotBottom}" x2="${px}" y2="${plotBottom + 4}" stroke="#999"/>`);
    parts.push(svgText(px, plotBottom + 17, xLabels[i]!, { size: SMALL, anchor: 'middle', fill: '#555' }));
  });
  parts.push(`<line x1="${plotLeft}" y1="${plotTop}" x2="${plotLeft}" y2="${plotBottom}" stroke="#999"/>`);

  const markers = Math.max(0, ...chart.series.map((s) => s.points.length)) <= MARKERS_UP_TO;
  chart.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    for (const run of runs(s.points)) {
      if (run.length > 1) {
        const coordinates = run.map(([t, v]) => `${round(x(t))},${round(y(v))}`).join(' ');
        parts.push(`<polyline points="${coordinates}" fill="none" ${stroke(i, 2)} stroke-linejoin="round"/>`);
      }
      if (markers || run.length === 1) {
        for (const [t, v] of run) {
          const tip = escapeHtml(`${s.name} at ${formatSeconds(t)}: ${Number(v.toPrecision(4))} ${chart.unit}`);
          parts.push(
            `<circle cx="${round(x(t))}" cy="${round(y(v))}" r="2.5" fill="${color}"><title>${tip}</title></circle>`,
          );
        }
      }
    }
  });
  if (values.length === 0) {
    parts.push(
      svgText((plotLeft + plotRight) / 2, (plotTop + plotBottom) / 2, 'nothing measured', {
        size: FONT,
        anchor: 'middle',
        fill: '#777',
      }),
    );
  }
  return svgDocument(WIDTH, height, chart.label, parts);
}
