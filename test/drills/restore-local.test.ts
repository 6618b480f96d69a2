/*
 * The local restore drill end to end, at CI size: real Postgres, real barman-cloud, real versitygw.
 * One run restores to the latest point and must pass; one restores to a point in time with WAL
 * streaming and an impossible RTO objective, which must fail with a message that names it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { repoRoot } from '../../scripts/lib/tools.ts';

const reportsDir = mkdtempSync(join(tmpdir(), 'rf-drill-reports-'));
after(() => rmSync(reportsDir, { recursive: true, force: true }));

function drill(...args: string[]) {
  const run = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'runbooks/drill.ts', ...args, '--reports-dir', reportsDir],
    {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 180_000,
    },
  );
  const dirs = readdirSync(reportsDir).sort();
  const dir = join(reportsDir, dirs.at(-1)!);
  return {
    status: run.status,
    stdout: run.stdout,
    stderr: run.stderr,
    dir,
    report: JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')),
  };
}

describe('restore drill, local target', { concurrency: false }, () => {
  it('restores the latest backup: every acknowledged write up to the recovery point is back, and it passes', () => {
    // when
    const { status, stdout, stderr, dir, report } = drill(
      'restore',
      '--target',
      'local',
      '--size',
      '32',
      '--workload-seconds',
      '6',
    );

    // then
    assert.equal(status, 0, `${stdout}\n${stderr}`);
    for (const file of ['report.json', 'report.md', 'report.html']) assert.ok(existsSync(join(dir, file)), file);
    assert.equal(report.passed, true);
    const v = report.verification;
    assert.equal(v.ok, true, v.failures.join('\n'));
    assert.deepEqual(v.failures, []);
    assert.equal(v.bulk.identical, true);
    assert.equal(v.hubReadAndWrite, true);
    for (const stream of v.streams) {
      assert.ok(stream.verified > 0, `${stream.stream}: nothing verified`);
      assert.equal(stream.verified, stream.restoredThrough - stream.unacknowledgedPresent);
      assert.equal(stream.ledgerChecksum, stream.restoredChecksum);
      assert.equal(stream.acknowledged, stream.verified + stream.lostBeyondRecoveryPoint.count);
    }
    assert.deepEqual(Object.keys(report.figures.phaseSeconds), ['fetch', 'replay', 'start', 'verify']);
    assert.ok(report.figures.rtoSeconds > 0 && report.figures.rtoSeconds <= 300);
    assert.ok(report.figures.rpoSeconds >= 0 && report.figures.rpoSeconds <= 60);
    assert.ok(report.figures.diskRead.mbPerSecond > 0);
    assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /<svg[^>]*aria-label="drill timeline"/);
    // No secret reaches a report: the object store keys and the admin token are random per run.
    assert.doesNotMatch(
      readFileSync(join(dir, 'report.json'), 'utf8'),
      /AWS_SECRET|secretKey|adminToken|rf_[A-Za-z0-9_-]{43}/,
    );
  });

  it('restores to a point in time: nothing after the target is present; an impossible RTO fails the drill by name', () => {
    // when
    const { status, stderr, report } = drill(
      'restore',
      '--size',
      '16',
      '--workload-seconds',
      '8',
      '--stream-wal',
      '--target-time=-3s',
      '--rto-seconds',
      '1',
    );

    // then
    assert.equal(status, 1);
    assert.match(stderr, /DRILL FAILED:\n {2}- RTO objective missed: measured [\d.]+ s, objective 1 s/);
    assert.deepEqual(report.failures.length, 1, report.failures.join('\n'));
    const v = report.verification;
    assert.equal(v.ok, true, v.failures.join('\n'));
    const target = Date.parse(v.targetTime);
    assert.ok(
      Date.parse(v.recoveryPoint) <= target,
      `recovery point ${v.recoveryPoint} is after the target ${v.targetTime}`,
    );
    assert.ok(v.lostAcknowledgedWrites > 0, 'writes after the target must not be restored');
    assert.ok(Date.parse(v.lastRestoredAcknowledgedAt) <= target + 1000);
    assert.equal(report.results.find((r: any) => r.name === 'RTO').met, false);
  });
});
