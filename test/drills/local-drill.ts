/*
 * A drill run as `npm run drill` runs it, its reports in a directory of its own that goes with the
 * test file, and what every passing run must leave behind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { repoRoot } from '../../scripts/lib/tools.ts';

export interface DrillRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The directory of the reports this run wrote. */
  readonly dir: string;
  readonly report: any;
}

/** A function that runs `runbooks/drill.ts` with the given arguments and reads the report it wrote. */
export function drillRunner(timeoutMs: number): (...args: string[]) => DrillRun {
  const reportsDir = mkdtempSync(join(tmpdir(), 'rf-drill-reports-'));
  after(() => rmSync(reportsDir, { recursive: true, force: true }));
  return (...args) => {
    const before = new Set(readdirSync(reportsDir));
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'runbooks/drill.ts', ...args, '--reports-dir', reportsDir],
      { cwd: repoRoot, encoding: 'utf8', timeout: timeoutMs },
    );
    const dir = join(
      reportsDir,
      readdirSync(reportsDir).find((d) => !before.has(d))!,
    );
    return {
      status: run.status,
      stdout: run.stdout,
      stderr: run.stderr,
      dir,
      report: JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')),
    };
  };
}

/** A passing run: exit 0, the report as JSON, Markdown and HTML with its timeline drawn, and no secret in it. */
export function assertPassedWithReports({ status, stdout, stderr, dir, report }: DrillRun): void {
  assert.equal(status, 0, `${stdout}\n${stderr}`);
  for (const file of ['report.json', 'report.md', 'report.html']) assert.ok(existsSync(join(dir, file)), file);
  assert.equal(report.passed, true);
  assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /<svg[^>]*aria-label="drill timeline"/);
  // The object stores' keys and the admin token are random per run.
  assert.doesNotMatch(
    readFileSync(join(dir, 'report.json'), 'utf8'),
    /AWS_SECRET|aws_secret_access_key|secretKey|adminToken|rf_[A-Za-z0-9_-]{43}/,
  );
}
