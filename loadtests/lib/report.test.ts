import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseOptions } from './options.ts';
import { Registry } from './registry.ts';
import { writeLoadReport } from './report.ts';
import { summarize } from './summary.ts';
import { evaluateThresholds } from './thresholds.ts';
import { SeriesRecorder } from './timeseries.ts';

const START = Date.parse('2025-01-01T00:00:00Z');

/** Four seconds of a fanout-like run, one of them with a failed check and an error. */
function run() {
  const registry = new Registry();
  let now = START;
  let connections = 0;
  const recorder = new SeriesRecorder(registry, {
    startMs: START,
    now: () => now,
    levels: { connections: () => connections },
  });
  for (let second = 0; second < 4; second++) {
    connections = 10 + second;
    for (let i = 0; i < 20; i++) {
      registry.counter('iterations').add(1);
      registry.trend('fanout_latency').add(second === 2 ? 40 + i : 5 + i / 10, { replica: 'hub-1' });
      registry.trend('iteration_duration').add(50);
      registry.counter('fanout_delivered').add(1);
      registry.rate('checks').add(!(second === 1 && i === 0));
    }
    if (second === 1) registry.counter('iteration_errors').add(1);
    registry.gauge('hub_rss_mib').add(100 + second, { replica: 'hub-1' });
    registry.gauge('hub_rss_mib').add(110 + second, { replica: 'hub-2' });
    now = START + (second + 1) * 1000 + 2;
    recorder.look();
  }
  const options = parseOptions({
    scenarios: { fanout: { executor: 'constant-vus', duration: '4s' } },
    thresholds: { fanout_latency: ['p(95)<30'], checks: ['rate>0.9'] },
  });
  const summary = summarize(registry, evaluateThresholds(registry, options.thresholds), {
    scenario: 'fanout',
    environment: 'local',
    profile: 'smoke',
    startedAt: new Date(START).toISOString(),
    finishedAt: new Date(START + 4_000).toISOString(),
  });
  return { summary, series: recorder.stop() };
}

describe('load test report', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rf-load-report-'));
  const { summary, series } = run();
  const files = writeLoadReport(dir, { summary, series, command: 'npm run loadtest -- fanout --profile smoke' });
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  const md = readFileSync(join(dir, 'report.md'), 'utf8');
  rmSync(dir, { recursive: true, force: true });

  it('writes report.html and report.md beside the summary', () => {
    assert.deepEqual(files, [join(dir, 'report.html'), join(dir, 'report.md')]);
  });

  it('states the verdict, the command and each threshold with what was observed', () => {
    assert.match(html, /<span class="status failed">FAILED<\/span>/);
    assert.match(html, /<code>npm run loadtest -- fanout --profile smoke<\/code>/);
    assert.match(
      html,
      /<td>fanout_latency<\/td><td>p\(95\)&lt;30<\/td><td class="num">5\d ms<\/td><td class="bad">FAIL<\/td>/,
    );
    assert.match(html, /<td>checks<\/td><td>rate&gt;0.9<\/td><td class="num">0.988<\/td><td class="good">pass<\/td>/);
    assert.match(md, /^# Load test: fanout \(local, smoke\): FAILED$/m);
    assert.match(md, /^\| fanout_latency \| p\(95\)<30 \| 5\d ms \| FAIL \|$/m);
  });

  it('charts the scenario trend over time, iterations, throughput, connections, errors and gauges', () => {
    const figures = [...html.matchAll(/<h2>([^<]*)<\/h2>\n<figure><svg/g)].map((m) => m[1]);
    assert.deepEqual(figures, [
      'fanout_latency over time',
      'Iterations',
      'Throughput',
      'Connections and VUs',
      'Errors',
      'hub_rss_mib',
    ]);
    const svg = (title: string) => html.split(`<h2>${title}</h2>`)[1]!.split('</figure>')[0]!;
    // The slow third second shows in its interval, not smeared over the run.
    assert.match(svg('fanout_latency over time'), /<title>p99 at 3s: 59\.\d* ms<\/title>/);
    assert.match(svg('fanout_latency over time'), /<title>p50 at 2s: 5\.\d* ms<\/title>/);
    assert.match(svg('Iterations'), /<title>iterations at 1s: 20 per second<\/title>/);
    assert.match(svg('Throughput'), />fanout_delivered</);
    assert.doesNotMatch(svg('Iterations'), /at 4.002s/, "no rate over the last look's few milliseconds");
    assert.match(svg('Connections and VUs'), /<title>connections at 4s: 13 open<\/title>/);
    assert.match(svg('Errors'), /<title>iteration_errors at 2s: 1 per second<\/title>/);
    assert.match(svg('Errors'), /<title>checks false at 2s: 1 per second<\/title>/);
    assert.doesNotMatch(html, /iteration_duration over time/);
    // Drawn per hub, not as whichever hub was looked at last.
    assert.match(svg('hub_rss_mib'), />hub_rss_mib\{replica:hub-2\}</);
    assert.match(svg('hub_rss_mib'), /<title>hub_rss_mib\{replica:hub-1\} at 3s: 102 MiB<\/title>/);
    assert.doesNotMatch(svg('hub_rss_mib'), />hub_rss_mib</);
  });

  it('tabulates every metric, in total and per tag set', () => {
    assert.match(html, /<td>fanout_latency<\/td><td class="num">80<\/td>/);
    assert.match(html, /<td>fanout_latency\{replica:hub-1\}<\/td><td class="num">80<\/td>/);
    assert.match(md, /^\| checks \| 98\.8% \| 79 \| 80 \|$/m);
    assert.match(md, /^\| metric \| count \| min \| avg \| med \| p90 \| p95 \| p99 \| max \|$/m);
  });
});
