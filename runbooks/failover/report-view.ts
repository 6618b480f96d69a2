/* How a failover report reads for people. */
import type { ReportView } from '../lib/report.ts';
import type { EventFigures } from './load.ts';
import type { FailoverReport } from './report.ts';

const ms = (value: number | undefined) => (value === undefined ? '–' : `${value} ms`);

/**
 * One phase's agent figures as table cells: phase, DMs acknowledged, acknowledged DMs lost, failed
 * requests, reconnects, reconnect p50 and p99. The region-loss report's agent table shows the same.
 */
export const agentPhaseCells = (e: EventFigures): string[] => [
  e.event,
  String(e.dmsAcknowledged),
  String(e.dmsLost),
  String(e.failedRequests),
  String(e.reconnects),
  ms(e.reconnectP50Ms),
  ms(e.reconnectP99Ms),
];

export function failoverReportView(report: FailoverReport): ReportView {
  return {
    title: `Failover drill (${report.target}, ${report.environment})`,
    passed: report.passed,
    failures: report.failures,
    command: report.command,
    facts: [
      ['environment', report.environment],
      ['hubs / agents', `${report.settings.hubs} / ${report.settings.agents}`],
      ['load balancer', report.settings.loadBalancer],
      ...report.results.map((r): [string, string] => [`${r.name} (${report.rtoMeasures})`, r.message]),
      ...Object.entries(report.hubExitCodes).map(([hub, code]): [string, string] => [`${hub} exit`, String(code)]),
      ...Object.entries(report.disrupted).map(([what, name]): [string, string] => [what, name]),
      ['objectives from', report.objectives.source],
    ],
    tables: [
      {
        title: 'Per failure',
        columns: [
          'phase',
          'DMs acknowledged',
          'acknowledged DMs lost',
          'failed requests',
          'reconnects',
          'reconnect p50',
          'reconnect p99',
          'broadcasts',
          'broadcast deliveries missed',
        ],
        rows: report.events.map((e) => [
          ...agentPhaseCells(e),
          String(e.broadcastsAcknowledged),
          String(e.broadcastDeliveriesMissed),
        ]),
      },
    ],
    notes: report.notes,
    timeline: report.timeline,
  };
}
