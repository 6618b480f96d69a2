import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lineChartSvg } from './line-chart.ts';
import { formatSeconds, formatTick, niceStep, ticks, timeStep } from './svg.ts';
import { timelineSvg } from './timeline-chart.ts';

const unescape = (text: string) =>
  text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');

/** Every <text> of an SVG with the horizontal extent it takes at ~0.6 em per character. */
function textExtents(svg: string): { text: string; left: number; right: number }[] {
  return [...svg.matchAll(/<text ([^>]*)>(?:<title>[^<]*<\/title>)?([^<]*)<\/text>/g)].map(([, attributes, body]) => {
    const attribute = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(attributes!)?.[1];
    const text = unescape(body!);
    const width = text.length * Number(attribute('font-size')) * 0.6;
    const x = Number(attribute('x'));
    const anchor = attribute('text-anchor') ?? 'start';
    const left = anchor === 'end' ? x - width : anchor === 'middle' ? x - width / 2 : x;
    return { text, left, right: left + width };
  });
}

function viewBoxWidth(svg: string): number {
  const match = /viewBox="0 0 (\d+(?:\.\d+)?) \d+(?:\.\d+)?"/.exec(svg);
  assert.ok(match, 'the SVG has a viewBox from the origin');
  return Number(match[1]);
}

function assertTextInside(svg: string): void {
  const width = viewBoxWidth(svg);
  for (const { text, left, right } of textExtents(svg)) {
    assert.ok(
      left >= 0 && right <= width,
      `"${text}" spans ${left.toFixed(0)}..${right.toFixed(0)}, outside 0..${width}`,
    );
  }
}

const phase = (label: string, from: number, to: number, detail?: string) => ({
  label,
  startMs: from * 1000,
  endMs: to * 1000,
  seconds: to - from,
  recovery: false,
  ...(detail ? { detail } : {}),
});

describe('timeline chart', () => {
  const long =
    'fetch the newest base backup from the object store and replay every archived WAL segment up to the recovery target';

  it('keeps long step labels inside the picture: two lines, then an ellipsis and the whole label on hover', () => {
    const twoLines = 'stop sending, wait for every acknowledged DM to arrive at its recipient';
    const svg = timelineSvg({
      startMs: 0,
      phases: [phase('start Postgres and Redis', 0, 3), phase(twoLines, 3, 10), phase(long, 10, 40, 'failed')],
      marks: [{ name: 'disaster', label: 'the primary is gone', atMs: 39_500 }],
    });
    assertTextInside(svg);
    const texts = textExtents(svg).map((t) => t.text);
    assert.ok(texts.includes('start Postgres and Redis'), 'short labels are shown whole');
    const wrapped = texts.filter((t) => twoLines.includes(t) && t.length > 10);
    assert.equal(wrapped.join(' '), twoLines, `wrapped whole onto two lines: ${JSON.stringify(wrapped)}`);
    const cut = texts.filter((t) => t.startsWith('fetch the newest') || t.endsWith('…'));
    assert.equal(cut.length, 2, `the longest label takes two lines: ${JSON.stringify(cut)}`);
    assert.ok(long.startsWith(cut.join(' ').slice(0, -1)), 'and is cut at the end');
    assert.ok(svg.includes(`<title>${long}</title>`), 'the whole label is the hover text');
    assert.ok(!svg.includes(`<title>${twoLines}</title>`), 'a label shown whole needs no hover text');
    assert.ok(texts.includes('30.0 s'), 'the last bar still shows its duration');
    const bars = [...svg.matchAll(/<rect x="[\d.]+" y="([\d.]+)"/g)].map((m) => Number(m[1]));
    assert.ok(bars[1]! - bars[0]! < bars[2]! - bars[1]!, `a two-line row is taller: bars at ${bars.join(', ')}`);
  });

  it('sizes the label column to the longest label', () => {
    const narrow = timelineSvg({ startMs: 0, phases: [phase('hubs', 0, 1)], marks: [] });
    const wide = timelineSvg({
      startMs: 0,
      phases: [phase('connect 200 agents through the load balancer', 0, 1)],
      marks: [],
    });
    const barX = (svg: string) => Number(/<rect x="([\d.]+)"/.exec(svg)![1]);
    assert.ok(barX(narrow) < barX(wide), `bars start at ${barX(narrow)} and ${barX(wide)}`);
    assertTextInside(wide);
  });
});

describe('line chart', () => {
  const chart = lineChartSvg({
    label: 'latency',
    unit: 'ms',
    spanSeconds: 15,
    series: [
      {
        name: 'p50',
        points: [
          [1, 2.5],
          [2, 3],
          [3, undefined],
          [4, 2.8],
        ],
      },
      {
        name: 'p99',
        points: [
          [1, 41.7],
          [2, 12],
          [3, undefined],
          [4, 9],
        ],
      },
    ],
  });

  it('labels the value axis at round steps above the largest value, with the unit', () => {
    const texts = textExtents(chart).map((t) => t.text);
    assert.deepEqual(
      texts.filter((t) => /^\d+$/.test(t)),
      ['0', '10', '20', '30', '40', '50'],
    );
    assert.ok(texts.includes('ms'));
    assert.ok(texts.includes('p50') && texts.includes('p99'), 'a legend names every series');
    assert.deepEqual(
      texts.filter((t) => /s$/.test(t) && t !== 'ms'),
      ['0s', '2s', '4s', '6s', '8s', '10s', '12s', '14s'],
    );
    assertTextInside(chart);
  });

  it('breaks a line where nothing was measured', () => {
    // Two series, each a run before the gap and a lone point after it.
    assert.equal(chart.match(/<polyline /g)?.length, 2);
    assert.match(chart, /<title>p99 at 4s: 9 ms<\/title>/);
  });

  it('says so when nothing was measured at all', () => {
    const empty = lineChartSvg({
      label: 'errors',
      unit: 'per second',
      spanSeconds: 10,
      series: [{ name: 'x', points: [] }],
    });
    assert.match(empty, />nothing measured</);
  });

  it('wraps a legend wider than the chart onto more rows, inside the picture', () => {
    const series = Array.from({ length: 12 }, (_, i) => ({
      name: `offline_catch_up_duration ${i}`,
      points: [[1, i] as const],
    }));
    assertTextInside(lineChartSvg({ label: 'many', unit: 'ms', spanSeconds: 5, series }));
  });
});

describe('axis steps', () => {
  it('cuts a span into at most the asked number of 1, 2 or 5 steps', () => {
    assert.equal(niceStep(41.7, 5), 10);
    assert.equal(niceStep(0.37, 5), 0.1);
    assert.equal(niceStep(7, 5), 2);
    assert.equal(niceStep(10, 10), 1);
  });

  it('steps time in whole minutes once the span is long', () => {
    assert.equal(timeStep(600), 60);
    assert.equal(timeStep(3600), 600);
    assert.equal(timeStep(8), 1);
    assert.deepEqual(ticks(0.3, 0.1), [0, 0.1, 0.2, 0.3]);
  });

  it('formats ticks with the decimals the step needs', () => {
    assert.equal(formatTick(0.30000000000000004, 0.1), '0.3');
    assert.equal(formatTick(2500, 500), '2500');
    assert.equal(formatTick(15000, 5000), '15k');
    assert.equal(formatTick(40, 10), '40');
    assert.equal(formatSeconds(90), '90s');
    assert.equal(formatSeconds(150), '2m30s');
    assert.equal(formatSeconds(3600), '60m');
  });
});
