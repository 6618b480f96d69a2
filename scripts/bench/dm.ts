/*
 * Direct messages at a fixed rate through the load runner's own `dm` scenario, against one hub on a
 * durable Postgres (fsync and synchronous commit on): each DM is on disk before the sender's
 * receipt, and the recipient checks that seqs follow one another. Only the rate, length and bounds
 * differ from the scenario's full profile; the runner provisions its key through the admin API.
 */
import { runLoadTest } from '../../loadtests/run.ts';
import type { OptionsInput } from '../../loadtests/lib/options.ts';
import { SECRET_ENV } from '../../loadtests/lib/targets.ts';
import { startHubs } from './hubs.ts';

export interface DmPlan {
  readonly perSecond: number;
  readonly seconds: number;
  readonly bounds: { readonly p95Ms: number; readonly p99Ms: number };
  readonly reportRoot: string;
  readonly print: (line: string) => void;
}

export interface DmResult {
  readonly perSecondTarget: number;
  readonly sent: number;
  readonly delivered: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly seqGaps: number;
  readonly droppedIterations: number;
  readonly passed: boolean;
  readonly summaryPath: string;
}

export async function runDm(plan: DmPlan): Promise<DmResult> {
  const hubs = await startHubs({ count: 1, durable: true });
  const hub = hubs.hubs[0]!;
  // The runner reads the admin token where an operator gives it, from the environment, never a flag.
  const operators = process.env[SECRET_ENV.adminToken];
  process.env[SECRET_ENV.adminToken] = hubs.adminToken;
  try {
    return await measure(plan, hub.wsUrl, hub.adminUrl);
  } finally {
    if (operators === undefined) delete process.env[SECRET_ENV.adminToken];
    else process.env[SECRET_ENV.adminToken] = operators;
    await hubs.stop();
  }
}

async function measure(plan: DmPlan, target: string, adminUrl: string): Promise<DmResult> {
  const result = await runLoadTest({
    scenario: 'dm',
    target,
    adminUrl,
    profile: 'full',
    reportRoot: plan.reportRoot,
    command: `npm run bench -- --only dm`,
    print: plan.print,
    options: (defaults: OptionsInput) => ({
      ...defaults,
      scenarios: {
        dm: {
          executor: 'constant-arrival-rate',
          exec: 'sendDm',
          rate: plan.perSecond,
          timeUnit: '1s',
          duration: `${plan.seconds}s`,
          preAllocatedVUs: plan.perSecond,
          maxVUs: plan.perSecond * 5,
          gracefulStop: '10s',
        },
      },
      thresholds: {
        dm_latency: [`p(95)<${plan.bounds.p95Ms}`, `p(99)<${plan.bounds.p99Ms}`],
        dm_seq_gaps: ['count<1'],
        checks: ['rate>0.99'],
      },
    }),
  });
  if (result.summary === undefined || result.summaryPath === undefined)
    throw result.error ?? new Error('the dm run wrote no summary');
  const metric = (name: string) => result.summary!.metrics[name]?.total;
  const latency = metric('dm_latency');
  return {
    perSecondTarget: plan.perSecond,
    sent: metric('iterations')?.count ?? 0,
    delivered: latency?.count ?? 0,
    p50Ms: latency?.med ?? Number.NaN,
    p95Ms: latency?.p95 ?? Number.NaN,
    p99Ms: latency?.p99 ?? Number.NaN,
    seqGaps: metric('dm_seq_gaps')?.count ?? Number.NaN,
    droppedIterations: metric('dropped_iterations')?.count ?? 0,
    passed: result.summary.passed,
    summaryPath: result.summaryPath,
  };
}
