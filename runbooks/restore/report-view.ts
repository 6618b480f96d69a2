/* How a restore report reads for people: headline figures, per-stream verification, notes on RPO. */
import type { ReportView } from '../lib/report.ts';
import type { RestoreReport } from './local.ts';

const s = (value: number | undefined, unit = 's') =>
  value === undefined ? 'not measured' : `${value.toFixed(1)} ${unit}`;
const gb = (bytes: number | undefined) => (bytes === undefined ? 'n/a' : `${(bytes / 1e9).toFixed(2)} GB`);

export function restoreReportView(report: RestoreReport): ReportView {
  const f = report.figures;
  const v = report.verification;
  const objective = (name: 'RPO' | 'RTO') => report.results.find((r) => r.name === name);
  const facts: [string, string][] = [
    ['environment', report.environment],
    ['recovery target', report.settings.recoveryTarget],
    [
      'RPO (last acknowledged − last restored)',
      `${s(f.rpoSeconds)}${objective('RPO') ? ` (objective ${objective('RPO')!.objectiveSeconds} s)` : ' (point-in-time restore: not an objective)'}`,
    ],
    [
      'RTO (disaster → hub ready, verified read + write)',
      `${s(f.rtoSeconds)} (objective ${objective('RTO')?.objectiveSeconds} s)`,
    ],
    ...Object.entries(f.phaseSeconds).map(([phase, secs]): [string, string] => [`  phase ${phase}`, s(secs)]),
    ['database size', gb(f.databaseBytes)],
    ['base backup size', gb(f.baseBackupBytes)],
    [
      'restore throughput (database ÷ fetch + replay)',
      f.restoreGbPerMinute === undefined ? 'n/a' : `${f.restoreGbPerMinute} GB/min`,
    ],
    [
      'fetch throughput (base backup ÷ fetch)',
      f.fetchGbPerMinute === undefined ? 'n/a' : `${f.fetchGbPerMinute} GB/min`,
    ],
    [
      'disk sequential read',
      f.diskRead === undefined
        ? 'not measured'
        : `${f.diskRead.gbPerMinute} GB/min (${f.diskRead.mbPerSecond} MB/s, ${f.diskRead.method})`,
    ],
    [
      'WAL archiving',
      `barman-cloud-wal-archive, archive_timeout ${report.settings.archiveTimeoutSeconds} s${report.settings.streamWal ? ', plus pg_receivewal streaming' : ''}`,
    ],
    ['objectives from', report.objectives.source],
  ];
  if (v) {
    facts.push(
      ['recovery point (newest restored write)', v.recoveryPoint ?? 'none'],
      ['last acknowledged write', v.lastAcknowledgedAt ?? 'none'],
      ['acknowledged writes lost beyond the recovery point', String(v.lostAcknowledgedWrites)],
      ['bulk data', `${v.bulk.after.rows} rows, checksum ${v.bulk.identical ? 'identical' : 'DIFFERENT'}`],
      ['hub read + write after restore', v.hubReadAndWrite ? 'yes' : 'NO'],
    );
  }
  const tables = v
    ? [
        {
          title: 'Verification per stream',
          columns: [
            'stream',
            'acknowledged',
            'restored',
            'verified identical',
            'restored through',
            'lost beyond recovery point',
            'unacknowledged present',
            'checksums match',
          ],
          rows: v.streams.map((x) => [
            x.stream,
            String(x.acknowledged),
            String(x.restored),
            String(x.verified),
            String(x.restoredThrough),
            x.lostBeyondRecoveryPoint.count === 0
              ? '0'
              : `${x.lostBeyondRecoveryPoint.count} (${x.lostBeyondRecoveryPoint.from}–${x.lostBeyondRecoveryPoint.to})`,
            String(x.unacknowledgedPresent),
            x.ledgerChecksum === x.restoredChecksum ? 'yes' : 'NO',
          ]),
        },
      ]
    : [];
  return {
    title: `Restore drill (${report.target}, ${report.environment})`,
    passed: report.passed,
    failures: report.failures,
    command: report.command,
    facts,
    tables,
    notes: [
      'Every write enters the ledger only after the client saw it acknowledged. Verified: every acknowledged write up to the recovery point is present with the same checksum; positions are gapless.',
      report.settings.streamWal
        ? 'WAL is archived by barman-cloud-wal-archive and also streamed by pg_receivewal; the restore replays the archive, then the streamed tail (including the partial segment at the disaster).'
        : `Without streaming, WAL written since the last archived segment is lost by design: archive_timeout (${report.settings.archiveTimeoutSeconds} s) bounds that loss. The writes beyond the recovery point are counted above.`,
      'RPO and RTO are measured on one clock: the client and the server run on this machine.',
    ],
    timeline: report.timeline,
  };
}
