/*
 * The local restore drill end to end, at CI size: real Postgres, real barman-cloud, real versitygw.
 * One run restores to the latest point and must pass; one restores to a point in time with WAL
 * streaming and an impossible RTO objective, which must fail with a message that names it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertPassedWithReports, drillRunner } from './local-drill.ts';

const drill = drillRunner(180_000);

describe('restore drill, local target', { concurrency: false }, () => {
  it('restores the latest backup: every acknowledged write up to the recovery point is back, and it passes', () => {
    // when
    const run = drill('restore', '--target', 'local', '--size', '32', '--workload-seconds', '6');

    // then
    assertPassedWithReports(run);
    const { report } = run;
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
