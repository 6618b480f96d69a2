/*
 * Restore drills on remote targets: print the plan (--dry-run), or execute it, compare the restored
 * summary with the source's up to the recovery point, and time the recovery steps against the RTO.
 */
import type { Environment } from '../../environments/index.ts';
import { checkObjective, type ObjectiveResult, type Objectives, verdict } from '../lib/objectives.ts';
import { executePlan, printPlan } from '../lib/plan.ts';
import { Timeline, printToStdout, type MarkRecord, type PhaseRecord, type Printer } from '../lib/timeline.ts';
import type { ReportView } from '../lib/report.ts';
import { k8sRestorePlan } from './k8s.ts';
import { vmRestorePlan } from './vm.ts';

export interface RemoteRestoreOptions {
  readonly target: 'k8s' | 'vm';
  readonly env: Environment;
  readonly objectives: Objectives;
  readonly targetTime?: string;
  readonly sshHost?: string;
  readonly dryRun: boolean;
  readonly runId?: string;
  readonly print?: Printer;
}

export interface RemoteRestoreReport {
  readonly drill: 'restore';
  readonly target: 'k8s' | 'vm';
  readonly environment: string;
  readonly command: string;
  readonly passed: boolean;
  readonly failures: readonly string[];
  readonly objectives: Objectives;
  readonly results: readonly ObjectiveResult[];
  readonly recoveryPoint?: string;
  readonly summaries: { readonly restored?: string; readonly source?: string };
  readonly timeline: {
    readonly startMs: number;
    readonly phases: readonly PhaseRecord[];
    readonly marks: readonly MarkRecord[];
  };
}

export function remotePlan(options: RemoteRestoreOptions) {
  const runId = options.runId ?? new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  if (options.target === 'k8s') {
    const plan = k8sRestorePlan({ env: options.env, runId, targetTime: options.targetTime });
    return {
      title: `restore drill, k8s target, ${options.env.name}: recovery cluster ${plan.recoveryCluster}`,
      steps: plan.steps,
      manifests: plan.manifests,
      cleanup: ['delete'],
      recovery: ['apply', 'wait'],
    };
  }
  const plan = vmRestorePlan({
    env: options.env,
    runId,
    sshHost: options.sshHost ?? '<ssh-host>',
    targetTime: options.targetTime,
  });
  return {
    title: `restore drill, vm target, ${options.env.name}: scratch instance in ${plan.scratchDir}`,
    steps: plan.steps,
    manifests: [],
    cleanup: ['stop', 'delete'],
    recovery: ['fetch', 'configure', 'replay', 'wait'],
  };
}

/** Dry run: prints the plan and returns undefined. Otherwise runs it and returns the report. */
export async function runRemoteRestoreDrill(
  options: RemoteRestoreOptions,
  command = '',
): Promise<RemoteRestoreReport | undefined> {
  const print = options.print ?? printToStdout;
  const plan = remotePlan(options);
  if (options.dryRun) {
    printPlan(plan.title, plan.steps, plan.manifests, print);
    return undefined;
  }
  if (options.target === 'vm' && options.sshHost === undefined)
    throw new Error('the vm target needs --ssh-host <user@host> of the host for the scratch instance');
  const timeline = new Timeline('restore', print);
  const failures: string[] = [];
  let outputs = new Map<string, string>();
  try {
    outputs = await executePlan(timeline, plan.steps, {
      recoverySteps: plan.recovery,
      cleanup: plan.cleanup,
      substitute: (arg, out) =>
        arg
          .replace(
            '<newest backup id>',
            () => JSON.parse(out.get('list') ?? '{}').backups_list?.at(-1)?.backup_id ?? '<none>',
          )
          .replace(/<recovery point: [^>]+>/, () => out.get('recovery-point') ?? ''),
    });
    if (outputs.get('verify-restored') !== outputs.get('verify-source')) {
      failures.push('the restored data differs from the source up to the recovery point (row counts or checksums)');
    }
  } catch (error) {
    failures.push(`the drill stopped: ${(error as Error).message.split('\n')[0]}`);
  }
  const rto = timeline.phases.filter((p) => p.recovery).reduce((sum, p) => sum + p.seconds, 0);
  const results = [checkObjective('RTO', options.objectives.rtoSeconds, failures.length === 0 ? rto : undefined)];
  return {
    drill: 'restore',
    target: options.target,
    environment: options.env.name,
    command,
    ...verdict(failures, results),
    objectives: options.objectives,
    results,
    recoveryPoint: outputs.get('recovery-point'),
    summaries: { restored: outputs.get('verify-restored'), source: outputs.get('verify-source') },
    timeline: { startMs: timeline.startMs, phases: timeline.phases, marks: timeline.marks },
  };
}

export function remoteReportView(report: RemoteRestoreReport): ReportView {
  return {
    title: `Restore drill (${report.target}, ${report.environment})`,
    passed: report.passed,
    failures: report.failures,
    command: report.command,
    facts: [
      ['recovery point', report.recoveryPoint ?? 'not reached'],
      ...report.results.map((r): [string, string] => [r.name, r.message]),
      ['objectives from', report.objectives.source],
    ],
    tables: [
      {
        title: 'Summary up to the recovery point',
        columns: ['side', 'rows'],
        rows: [
          ['restored', report.summaries.restored ?? ''],
          ['source', report.summaries.source ?? ''],
        ],
      },
    ],
    notes: [
      'RTO here is the time from creating the restore until it serves queries; the hub is not switched to it (a drill never touches production traffic).',
    ],
    timeline: report.timeline,
  };
}
