/*
 * npm run drill -- restore|failover|region-loss [--target local|k8s|vm] [--env <name>] [options]
 *
 * Runs a disaster-recovery drill against the objectives in environments/<env>.ts (`drill`), writes
 * its report to reports/drills/<timestamp>-<drill>/ and exits non-zero when an objective is missed.
 */
import { parseArgs } from 'node:util';
import { loadEnvironment } from '../environments/index.ts';
import { resolveObjectives } from './lib/objectives.ts';
import { writeDrillReport, type ReportView } from './lib/report.ts';
import { runK8sFailoverDrill } from './failover/k8s-drill.ts';
import { runLocalFailoverDrill } from './failover/local.ts';
import { failoverReportView } from './failover/report-view.ts';
import { runLocalRegionLossDrill } from './region-loss/local.ts';
import { regionLossReportView } from './region-loss/report-view.ts';
import { regionLossObjectives } from './region-loss/report.ts';
import { runLocalRestoreDrill } from './restore/local.ts';
import { remoteReportView, runRemoteRestoreDrill } from './restore/remote.ts';
import { restoreReportView } from './restore/report-view.ts';

export const USAGE = `usage: npm run drill -- restore|failover|region-loss [options]
  --target local|k8s|vm     where the drill runs (default local)
  --env <name>              environment whose objectives and backup settings apply (default local)
  --target-time <time>      restore to a point in time: ISO timestamp, or -<N>s before the disaster
  --size <MiB>              bulk data loaded before the base backup (default 1024)
  --workload-seconds <s>    writes after the base backup, until the disaster (default 90);
                            region-loss: load before the region is lost (default 10)
  --stream-wal              also stream WAL with pg_receivewal (RPO of seconds instead of archive_timeout)
  --rpo-seconds <s>         override the environment's RPO objective
  --rto-seconds <s>         override the environment's RTO objective
  --archive-timeout <s>     region-loss: archive_timeout of both regions (default the environment's)
  --reports-dir <dir>       where reports go (default reports/drills)
  --ssh-host <user@host>    vm target: the host that runs the scratch instance
  --region <name>           failover k8s target: the region whose cluster the kubectl context points at (default first)
  --target-url <wss://…/ws> failover k8s target: where the agents connect (default wss://<dns.hubHostname>/ws)
  --admin-url <http://…>    failover k8s target: the hub's operations port, which is never routed from the internet
                            (default http://127.0.0.1:9090, e.g. kubectl --namespace ringforge port-forward service/hub 9090:admin)
  --dry-run                 print every manifest and command instead of running (k8s, vm)`;

export interface DrillArgs {
  readonly drill: 'restore' | 'failover' | 'region-loss';
  readonly target: 'local' | 'k8s' | 'vm';
  readonly env: string;
  readonly targetTime?: string;
  readonly sizeMiB: number;
  readonly workloadSeconds?: number;
  readonly archiveTimeoutSeconds?: number;
  readonly streamWal: boolean;
  readonly rpoSeconds?: number;
  readonly rtoSeconds?: number;
  readonly reportsDir?: string;
  readonly sshHost?: string;
  readonly region?: string;
  readonly targetUrl?: string;
  readonly adminUrl?: string;
  readonly dryRun: boolean;
}

const positive = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number (got ${value})`);
  return n;
};

export function parseDrillArgs(argv: readonly string[]): DrillArgs {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      target: { type: 'string', default: 'local' },
      env: { type: 'string', default: 'local' },
      'target-time': { type: 'string' },
      size: { type: 'string', default: '1024' },
      'workload-seconds': { type: 'string' },
      'archive-timeout': { type: 'string' },
      'stream-wal': { type: 'boolean', default: false },
      'rpo-seconds': { type: 'string' },
      'rto-seconds': { type: 'string' },
      'reports-dir': { type: 'string' },
      'ssh-host': { type: 'string' },
      region: { type: 'string' },
      'target-url': { type: 'string' },
      'admin-url': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    },
  });
  const [drill, ...rest] = positionals;
  if (drill !== 'restore' && drill !== 'failover' && drill !== 'region-loss')
    throw new Error(`name the drill: restore, failover or region-loss (got ${drill ?? 'nothing'})`);
  if (rest.length > 0) throw new Error(`unexpected arguments: ${rest.join(' ')}`);
  const target = values.target;
  if (target !== 'local' && target !== 'k8s' && target !== 'vm')
    throw new Error(`--target must be local, k8s or vm (got ${target})`);
  if (drill === 'failover' && target === 'vm') throw new Error('the failover drill has local and k8s targets');
  if (drill === 'region-loss' && target !== 'local')
    throw new Error(`--target ${target} is not supported yet for the region-loss drill: it runs with --target local`);
  if (values['archive-timeout'] !== undefined && drill !== 'region-loss')
    throw new Error('--archive-timeout applies to the region-loss drill only');
  return {
    drill,
    target,
    env: values.env,
    targetTime: values['target-time'],
    sizeMiB: positive('size', values.size)!,
    workloadSeconds: positive('workload-seconds', values['workload-seconds']),
    archiveTimeoutSeconds: positive('archive-timeout', values['archive-timeout']),
    streamWal: values['stream-wal'],
    rpoSeconds: positive('rpo-seconds', values['rpo-seconds']),
    rtoSeconds: positive('rto-seconds', values['rto-seconds']),
    reportsDir: values['reports-dir'],
    sshHost: values['ssh-host'],
    region: values.region,
    targetUrl: values['target-url'],
    adminUrl: values['admin-url'],
    dryRun: values['dry-run'],
  };
}

/** Runs the drill the arguments name; resolves with the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let args: DrillArgs;
  try {
    args = parseDrillArgs(argv);
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const env = loadEnvironment(args.env);
  const command = `npm run drill -- ${argv.join(' ')}`;
  if (args.drill === 'region-loss') {
    const objectives = regionLossObjectives(env, { rpoSeconds: args.rpoSeconds, rtoSeconds: args.rtoSeconds });
    console.log(
      `[region-loss] objectives: RPO ≤ ${objectives.rpoSeconds} s, RTO ≤ ${objectives.rtoSeconds} s, no acknowledged write lost before the recovery point (${objectives.source})`,
    );
    const report = await runLocalRegionLossDrill(
      {
        env,
        objectives,
        loadSeconds: args.workloadSeconds,
        archiveTimeoutSeconds: args.archiveTimeoutSeconds,
      },
      command,
    );
    return conclude('region-loss', report, regionLossReportView(report), args.reportsDir);
  }
  const objectives = resolveObjectives(env, { rpoSeconds: args.rpoSeconds, rtoSeconds: args.rtoSeconds });
  if (args.drill === 'restore' && args.target === 'local') {
    console.log(
      `[restore] objectives: RPO ≤ ${objectives.rpoSeconds} s, RTO ≤ ${objectives.rtoSeconds} s (${objectives.source})`,
    );
    const report = await runLocalRestoreDrill(
      {
        env,
        objectives,
        sizeMiB: args.sizeMiB,
        workloadSeconds: args.workloadSeconds ?? 90,
        targetTime: args.targetTime,
        streamWal: args.streamWal,
      },
      command,
    );
    return conclude('restore', report, restoreReportView(report), args.reportsDir);
  }
  if (args.drill === 'restore' && args.target !== 'local') {
    const report = await runRemoteRestoreDrill(
      { target: args.target, env, objectives, targetTime: args.targetTime, sshHost: args.sshHost, dryRun: args.dryRun },
      command,
    );
    if (report === undefined) return 0;
    return conclude('restore', report, remoteReportView(report), args.reportsDir);
  }
  if (args.drill === 'failover' && args.target === 'local') {
    console.log(
      `[failover] objective: agents reconnect (p99) within RTO ${objectives.rtoSeconds} s (${objectives.source})`,
    );
    const report = await runLocalFailoverDrill({ env, objectives }, command);
    return conclude('failover', report, failoverReportView(report), args.reportsDir);
  }
  if (args.drill === 'failover' && args.target === 'k8s') {
    let report: Awaited<ReturnType<typeof runK8sFailoverDrill>>;
    try {
      report = await runK8sFailoverDrill(
        {
          env,
          objectives,
          region: args.region,
          targetUrl: args.targetUrl,
          adminUrl: args.adminUrl,
          dryRun: args.dryRun,
        },
        command,
      );
    } catch (error) {
      // Only the plan and its settings throw; what goes wrong on the cluster ends up in the report.
      console.error((error as Error).message);
      return 2;
    }
    if (report === undefined) return 0;
    return conclude('failover', report, failoverReportView(report), args.reportsDir);
  }
  console.error(`the ${args.drill} drill has no ${args.target} target yet`);
  return 2;
}

/** Writes the drill's report, prints its results and says whether it passed (the exit code). */
function conclude(
  drill: string,
  report: {
    readonly passed: boolean;
    readonly failures: readonly string[];
    readonly results: readonly { message: string }[];
  },
  view: ReportView,
  reportsDir: string | undefined,
): number {
  const { dir } = writeDrillReport(drill, report, view, reportsDir);
  for (const { message } of report.results) console.log(`  ${message}`);
  console.log(`report: ${dir}/report.{json,md,html}`);
  if (report.passed) {
    console.log('DRILL PASSED');
    return 0;
  }
  console.error(`DRILL FAILED:\n${report.failures.map((f) => `  - ${f}`).join('\n')}`);
  return 1;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await main(process.argv.slice(2));
