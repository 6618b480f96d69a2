/*
 * Runs the k8s failover plan (or prints it, --dry-run): agents put load on the hub through its
 * public hostname while the drill deletes a hub pod and then drains the node of another one. The
 * figures are the local drill's; the RTO bounds how long the Deployment takes to be whole again.
 */
import type { Environment } from '../../environments/index.ts';
import { provisionTenant } from '../lib/hub-process.ts';
import { checkObjective, type Objectives } from '../lib/objectives.ts';
import { printPlan, runPlanStep } from '../lib/plan.ts';
import { finishedDrillHeader } from '../lib/report.ts';
import { Timeline, printToStdout, type Printer } from '../lib/timeline.ts';
import { PLACEHOLDERS, chooseTargets, k8sFailoverPlan, type K8sFailoverPlan } from './k8s.ts';
import { AgentLoad, worstReconnectP99Seconds } from './load.ts';
import type { FailoverReport } from './report.ts';

export interface K8sFailoverOptions {
  readonly env: Environment;
  readonly objectives: Objectives;
  readonly region?: string;
  readonly targetUrl?: string;
  readonly adminUrl?: string;
  readonly dryRun: boolean;
  readonly runId?: string;
  readonly agents?: number;
  readonly stepSeconds?: number;
  readonly print?: Printer;
}

type K8sFailoverEvent = 'steady' | 'pod-delete' | 'node-drain';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function printLoad(plan: K8sFailoverPlan, print: Printer): void {
  const { load } = plan;
  print(`\n## load, from before "delete-pod" until after "uncordon"`);
  print(`agents: ${load.agents} connecting to ${load.url}`);
  print(`rate: each agent sends 1 DM every ${load.intervalMs} ms and a broadcast with every 5th DM`);
  print(`phases: ${load.stepSeconds} s steady, then ${load.stepSeconds} s after each disruption settles`);
  print(`bound: sending stops after ${load.maxSeconds} s at the latest`);
  // The token is named, never shown: a dry run's output ends up in tickets and CI logs.
  print(`tenant: ${load.tenant}, API key provisioned at ${load.adminUrl} with HUB_ADMIN_TOKEN from the environment`);
}

/** Dry run: prints the plan and returns undefined. Otherwise runs it and returns the report. */
export async function runK8sFailoverDrill(
  options: K8sFailoverOptions,
  command = '',
): Promise<FailoverReport | undefined> {
  const print = options.print ?? printToStdout;
  const plan = k8sFailoverPlan({
    env: options.env,
    region: options.region,
    targetUrl: options.targetUrl,
    adminUrl: options.adminUrl,
    runId: options.runId ?? new Date().toISOString().replace(/\D/g, '').slice(0, 14),
    agents: options.agents,
    stepSeconds: options.stepSeconds,
    waitSeconds: options.objectives.rtoSeconds,
  });
  if (options.dryRun) {
    printPlan(plan.title, plan.steps, [], print);
    printLoad(plan, print);
    return undefined;
  }
  const adminToken = process.env.HUB_ADMIN_TOKEN;
  if (!adminToken)
    throw new Error('HUB_ADMIN_TOKEN must be set: the drill provisions its agents through the admin API');

  const timeline = new Timeline('failover', print);
  const startedAt = new Date().toISOString();
  const failures: string[] = [];
  const outputs = new Map<string, string>();
  let targets: { pod: string; node: string } | undefined;
  let load: AgentLoad<K8sFailoverEvent> | undefined;
  let cordoned = false;
  const run = (name: string, recovery = false) => {
    const step = plan.steps.find((s) => s.name === name)!;
    const fill = (arg: string) =>
      targets === undefined ? arg : arg.replace(PLACEHOLDERS.pod, targets.pod).replace(PLACEHOLDERS.node, targets.node);
    return timeline.phase(
      name,
      step.description,
      async () => outputs.set(name, await runPlanStep(step, fill)).get(name)!,
      { recovery },
    );
  };
  const uncordon = async () => {
    await run('uncordon');
    cordoned = false;
  };

  try {
    for (const name of ['context', 'region', 'namespace', 'ready-replicas', 'pdb', 'pods']) await run(name);
    timeline.info(`context ${outputs.get('context')}`);
    const regions = new Set(outputs.get('region')!.split(/\s+/).filter(Boolean));
    if (regions.size !== 1 || !regions.has(plan.location))
      throw new Error(`the context's nodes are in ${[...regions].join(', ') || 'no region'}, not ${plan.location}`);
    const ready = Number(outputs.get('ready-replicas') || '0');
    if (ready < 2) throw new Error(`deployment/hub has ${ready} ready replicas: the drill needs at least 2`);
    targets = chooseTargets(outputs.get('pods')!);

    const tenancy = await timeline.phase('provision', `provision tenant ${plan.load.tenant}`, () =>
      provisionTenant(plan.load.adminUrl, adminToken, plan.load.tenant),
    );
    load = new AgentLoad<K8sFailoverEvent>({
      urls: [plan.load.url],
      apiKey: tenancy.apiKey,
      agents: plan.load.agents,
      intervalMs: plan.load.intervalMs,
      events: ['steady', 'pod-delete', 'node-drain'],
      namePrefix: plan.load.tenant,
      maxSeconds: plan.load.maxSeconds,
    });
    await timeline.phase('agents', `connect ${plan.load.agents} agents to ${plan.load.url}`, () => load!.connect());
    load.start();
    await timeline.phase('steady', 'steady load', () => sleep(plan.load.stepSeconds * 1000));

    load.event = 'pod-delete';
    timeline.mark('pod-delete', `delete pod ${targets.pod}`);
    await run('delete-pod', true);
    await run('pod-recovered', true);
    await timeline.phase('after-pod-delete', 'load after the pod delete', () => sleep(plan.load.stepSeconds * 1000));

    load.event = 'node-drain';
    timeline.mark('node-drain', `cordon and drain ${targets.node}`);
    cordoned = true;
    await run('cordon', true);
    await run('drain', true);
    await run('node-recovered', true);
    await uncordon();
    await timeline.phase('after-drain', 'load after the drain', () => sleep(plan.load.stepSeconds * 1000));
    await timeline.phase('settle', 'stop sending, wait for every acknowledged DM to arrive', () => load!.stop());
  } catch (error) {
    failures.push(`the drill stopped: ${(error as Error).message.split('\n')[0]}`);
    // What was acknowledged before the stop is still counted once it had its time to arrive, so lost means lost.
    await load?.stop().catch(() => undefined);
  } finally {
    load?.close();
    // A node left cordoned would quietly shrink the cluster, so a failed uncordon is a failure of its own.
    if (cordoned)
      await uncordon().catch(() => failures.push(`uncordon ${targets?.node} failed: run kubectl uncordon by hand`));
  }

  const events = load?.figures() ?? [];
  for (const e of events.filter((f) => f.event !== 'steady')) {
    if (e.dmsLost > 0) failures.push(`${e.dmsLost} acknowledged DMs were lost across the ${e.event} (must be 0)`);
    if (e.dmsAcknowledged === 0) failures.push(`no DM was acknowledged during the ${e.event}: the hub did not serve`);
  }
  const reconnectP99 = worstReconnectP99Seconds(events);
  if (reconnectP99 > options.objectives.rtoSeconds)
    failures.push(
      `agents took ${reconnectP99} s (p99) to reconnect, beyond the RTO of ${options.objectives.rtoSeconds} s`,
    );
  const recovered = (names: readonly string[]) =>
    names.every((n) => timeline.phases.some((p) => p.name === n && p.detail !== 'failed'))
      ? names.reduce((sum, n) => sum + timeline.seconds(n), 0)
      : undefined;
  const pod = recovered(['delete-pod', 'pod-recovered']);
  const node = recovered(['cordon', 'drain', 'node-recovered']);
  const results = [
    checkObjective(
      'RTO',
      options.objectives.rtoSeconds,
      pod === undefined || node === undefined ? undefined : Math.max(pod, node),
    ),
  ];
  return {
    ...finishedDrillHeader(
      { drill: 'failover', target: 'k8s', environment: options.env.name, command, startedAt },
      failures,
      results,
    ),
    settings: {
      hubs: Number(outputs.get('ready-replicas') || '0'),
      agents: plan.load.agents,
      stepSeconds: plan.load.stepSeconds,
      loadBalancer: `ingress of ${plan.load.url} (context ${outputs.get('context') ?? 'unknown'}, region ${plan.region})`,
    },
    objectives: options.objectives,
    rtoMeasures: 'Deployment fully available again, slower of pod delete and node drain',
    results,
    events,
    hubExitCodes: {},
    disrupted: targets === undefined ? {} : { 'deleted pod': targets.pod, 'drained node': targets.node },
    notes: [
      'Pod delete: the kubelet sends the hub SIGTERM; it reports not ready, drains its sessions with 1012 and the ReplicaSet starts a replacement. Agents reconnect through the ingress and resume their DMs from the last seq they processed.',
      'Node drain: every pod on the node is evicted, hubs one at a time as the PodDisruptionBudget allows; the RTO is the time from the cordon until the Deployment is fully available on the other nodes.',
      `The tenant ${plan.load.tenant} stays in the hub's database: the admin API has no delete.`,
    ],
    timeline: { startMs: timeline.startMs, phases: timeline.phases, marks: timeline.marks },
  };
}
