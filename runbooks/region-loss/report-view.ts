/* How a region-loss report reads for people. */
import { agentPhaseCells } from '../failover/report-view.ts';
import type { ReportView } from '../lib/report.ts';
import type { RegionLossReport } from './report.ts';

const s = (value: number | undefined) => (value === undefined ? 'not measured' : `${value.toFixed(1)} s`);
const yes = (value: boolean) => (value ? 'yes' : 'NO');

export function regionLossReportView(report: RegionLossReport): ReportView {
  const f = report.figures;
  const v = report.verification;
  const objective = (name: 'RPO' | 'RTO') => report.results.find((r) => r.name === name)!.objectiveSeconds;
  const archived = (o: typeof f.firstArchivedObject) =>
    o === undefined ? 'none' : `${o.key}, ${o.secondsAfterPromotion.toFixed(1)} s after promotion`;
  return {
    title: `Region-loss drill (${report.target}, ${report.environment})`,
    passed: report.passed,
    failures: report.failures,
    command: report.command,
    facts: [
      ['environment', report.environment],
      ...report.settings.regions.map((r): [string, string] => [r.name, `${r.role}; bucket ${r.bucket}`]),
      ['replication', report.settings.replication],
      ['hubs per region / agents', `${report.settings.hubsPerRegion} / ${report.settings.agents}`],
      ['load balancer', report.settings.loadBalancer],
      ['Redis', report.settings.redis],
      ['RPO (last acknowledged − last kept)', `${s(f.rpoSeconds)} (objective ${objective('RPO')} s)`],
      ['acknowledged writes lost (beyond the recovery point)', String(f.lostAcknowledgedWrites ?? 'not measured')],
      ['RTO (loss → first write acknowledged in region 2)', `${s(f.rtoSeconds)} (objective ${objective('RTO')} s)`],
      ['time with no ready hub behind the load balancer', s(f.unreadySeconds)],
      ['  loss → no ready hub seen (detect)', s(f.detectSeconds)],
      ['  pg_promote()', s(f.promoteSeconds)],
      ['last replayed commit before promotion', f.lastReplayedCommit ?? 'none'],
      ['recovery point (newest kept write)', v?.recoveryPoint ?? 'none'],
      ['last acknowledged write in the old region', v?.lastAcknowledgedAt ?? 'none'],
      ['WAL files replayed from region 1’s archive', String(f.walRestoredFromArchive ?? 'not measured')],
      ['standby hubs not ready while in recovery', f.standbyHubsNotReady ? 'yes (503, checks.primary)' : 'NO'],
      ['first object region 2 archived', archived(f.firstArchivedObject)],
      ['first WAL segment of the new timeline archived', archived(f.firstArchivedSegment)],
      [
        'old primary back (fenced)',
        f.oldPrimaryFenced === undefined
          ? 'not checked'
          : `in recovery ${yes(f.oldPrimaryFenced.inRecovery)}, write refused ${yes(f.oldPrimaryFenced.writeRefused)}, hubs not ready ${yes(f.oldPrimaryFenced.hubsNotReady)}`,
      ],
      ['archive_timeout', `${report.settings.archiveTimeoutSeconds} s`],
      ['objectives from', report.objectives.source],
    ],
    tables: [
      ...(v === undefined
        ? []
        : [
            {
              title: 'Old region’s acknowledged writes in the promoted region',
              columns: ['stream', 'acknowledged', 'kept', 'verified', 'lost beyond the recovery point', 'in flight'],
              numeric: [1, 2, 3, 4, 5],
              rows: v.streams.map((x) => [
                x.stream,
                String(x.acknowledged),
                String(x.restored),
                String(x.verified),
                String(x.lostBeyondRecoveryPoint.count),
                String(x.unacknowledgedPresent),
              ]),
            },
          ]),
      {
        title: 'Agents before the loss, after it, and with the old region back',
        columns: [
          'phase',
          'DMs acknowledged',
          'acknowledged DMs never received',
          'failed requests',
          'reconnects',
          'reconnect p50',
          'reconnect p99',
        ],
        numeric: [1, 2, 3, 4],
        rows: report.events.map(agentPhaseCells),
      },
    ],
    notes: report.notes,
    timeline: report.timeline,
  };
}
