/* What a failover drill reports, whatever the target: the same figures, so runs compare. */
import type { ObjectiveResult, Objectives } from '../lib/objectives.ts';
import type { DrillReportHeader } from '../lib/report.ts';
import type { MarkRecord, PhaseRecord } from '../lib/timeline.ts';
import type { EventFigures } from './load.ts';

export interface FailoverReport extends DrillReportHeader<'failover', 'local' | 'k8s'> {
  readonly settings: {
    readonly hubs: number;
    readonly agents: number;
    readonly stepSeconds: number;
    readonly loadBalancer: string;
  };
  readonly objectives: Objectives;
  /** What the RTO result measured, for people reading the report. */
  readonly rtoMeasures: string;
  readonly results: readonly ObjectiveResult[];
  readonly events: readonly EventFigures[];
  readonly hubExitCodes: Readonly<Record<string, number | null>>;
  /** What the drill disrupted, e.g. the pod it deleted and the node it drained. */
  readonly disrupted: Readonly<Record<string, string>>;
  readonly notes: readonly string[];
  readonly timeline: {
    readonly startMs: number;
    readonly phases: readonly PhaseRecord[];
    readonly marks: readonly MarkRecord[];
  };
}
