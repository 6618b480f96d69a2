import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { writeDrillReport, type ReportView } from './report.ts';

const view: ReportView = {
  title: 'Failover drill (local, local)',
  passed: false,
  failures: ['reconnect p99 4.2 s is over the RTO of 3 s'],
  command: 'npm run drill -- failover',
  facts: [['hubs / agents', '3 / 200']],
  tables: [{ title: 'Per failure', columns: ['phase', 'reconnects'], rows: [['sigterm', '67']], numeric: [1] }],
  notes: ['Latency is measured on one clock.'],
  timeline: {
    startMs: 0,
    phases: [
      { label: 'start Postgres and Redis', startMs: 0, endMs: 2_000, seconds: 2, recovery: false },
      { label: 'loadtest-hub-1 drains and exits', startMs: 2_000, endMs: 3_500, seconds: 1.5, recovery: true },
    ],
    marks: [{ name: 'sigterm', label: 'SIGTERM loadtest-hub-1 (graceful drain)', atMs: 2_000 }],
  },
};

describe('drill report', () => {
  const reportsDir = mkdtempSync(join(tmpdir(), 'rf-drill-report-'));
  const at = new Date('2025-03-01T12:00:00.000Z');
  const written = writeDrillReport('failover', { passed: false }, view, reportsDir, at);
  const md = readFileSync(join(written.dir, 'report.md'), 'utf8');
  const html = readFileSync(join(written.dir, 'report.html'), 'utf8');
  rmSync(reportsDir, { recursive: true, force: true });

  it('writes report.json, .md and .html into a directory named by time and drill', () => {
    assert.equal(basename(written.dir), '2025-03-01T12-00-00-000Z-failover');
    assert.deepEqual(
      written.files.map((f) => basename(f)),
      ['report.json', 'report.md', 'report.html'],
    );
  });

  it('renders the same blocks in both: failures, figures, timeline, tables, notes', () => {
    const headings = (text: string, pattern: RegExp) => [...text.matchAll(pattern)].map((m) => m[1]);
    const order = ['Failures', 'Figures', 'Timeline', 'Per failure', 'Notes'];
    assert.deepEqual(headings(md, /^## (.*)$/gm), order);
    assert.deepEqual(headings(html, /<h2>([^<]*)<\/h2>/g), order);
    assert.match(html, /<span class="status failed">FAILED<\/span>/);
    assert.match(html, /<ul class="bad"><li>reconnect p99 4.2 s is over the RTO of 3 s<\/li><\/ul>/);
    assert.match(html, /<svg[^>]*aria-label="drill timeline"/);
  });

  it('gives Markdown the timeline as a table, marks in bold, numbers right-aligned', () => {
    assert.match(md, /^\| loadtest-hub-1 drains and exits \| 2\.0 \| 1\.5 \| yes \| {2}\|$/m);
    assert.match(md, /^\| \*\*SIGTERM loadtest-hub-1 \(graceful drain\)\*\* \| 2\.0 \| {2}\| {2}\| {2}\|$/m);
    assert.match(md, /^\| phase \| reconnects \|\n\| --- \| ---: \|\n\| sigterm \| 67 \|$/m);
  });
});
