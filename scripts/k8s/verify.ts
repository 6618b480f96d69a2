/*
 * `npm run k8s:verify -- <env> [--region <name>]`: applies each cluster folder of an environment to
 * a running cluster the way ArgoCD would (namespaces first, Applications by sync wave, objects by
 * wave and kind, server-side apply), first as a server-side dry run, then for real, waiting for
 * each wave to be healthy; then proves the hub works: a WebSocket round trip through its Service
 * and presence and a DM across two hub pods. Writes reports/k8s-verify/<env>[-<region>]/.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NAMESPACES, clusterTargets } from '../../charts/clusters.ts';
import { loadEnvironment } from '../../environments/index.ts';
import { Timeline } from '../../runbooks/lib/timeline.ts';
import { writeReport } from '../lib/report.ts';
import { repoRoot } from '../lib/tools.ts';
import { Kubectl } from './kubectl.ts';
import { JOB_OVERLAY, overlaidJob, runLoadTestJob } from './loadtest-job.ts';
import { clusterAccess, localImagesInCluster } from './cluster-access.ts';
import { copyDatabaseSecret, operatorSecrets } from './operator-secrets.ts';
import { acrossPods, hubService, provisionThrough, serviceRoundTrip } from './proofs.ts';
import { waitForAutoscaler, waitForWorkload } from './rollout.ts';
import { readSyncPlan, type FolderSync, type KubeObject } from './sync-plan.ts';
import { promote, standbyReadyAnswer, waitForStandbyHubs } from './standby.ts';
import { applyTestOverlay, isReplicaCluster } from './test-overlay.ts';

const ROLLOUT_TIMEOUT_MS = 300_000;

interface FolderResult {
  readonly app: string;
  readonly wave: number;
  readonly objects: number;
  readonly workloads: readonly string[];
}

export interface VerifyReport {
  readonly environment: string;
  readonly cluster: string;
  readonly passed: boolean;
  readonly failures: readonly string[];
  readonly substitutions: readonly string[];
  /** The API server's warnings while applying, e.g. Pod Security `warn` findings. */
  readonly warnings: readonly string[];
  readonly notInstalled: readonly string[];
  readonly folders: readonly FolderResult[];
  readonly proofs: Record<string, string>;
  readonly seconds: Record<string, number>;
}

const workloadsOf = (folder: FolderSync) =>
  folder.objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');

const namespaceOf = (object: KubeObject, folder: FolderSync) => object.metadata.namespace ?? folder.namespace;

/** Deletes what an earlier run left, so each cluster folder starts from an empty cluster as a new one would. */
async function reset(kubectl: Kubectl, namespaces: readonly string[]): Promise<void> {
  await kubectl.run(['delete', 'namespace', '--ignore-not-found', '--wait=true', ...namespaces], {
    timeoutMs: 300_000,
  });
  await kubectl.run(['delete', 'pv', '-l', 'ringforge.dev/test-volume', '--ignore-not-found'], { timeoutMs: 60_000 });
}

export async function verifyCluster(
  kubectl: Kubectl,
  envName: string,
  clusterDir: string,
  print: (line: string) => void,
  /** Where the Applications' repository-relative paths start. @default the repository */
  root = repoRoot,
  /** Also run the environment's distributed load-test Job (overlaid to a smoke run) and merge its pods. */
  loadtestJob = false,
): Promise<VerifyReport> {
  const timeline = new Timeline('k8s:verify', print);
  const failures: string[] = [];
  const proofs: Record<string, string> = {};
  const folders: FolderResult[] = [];
  const source = readSyncPlan(root, clusterDir);
  const images = await localImagesInCluster();
  const { plan, substitutions: overlaid } = applyTestOverlay(source, images);
  const substitutions = [...overlaid];
  // The load-test Job is rendered beside the Applications' folders but synced by none of them.
  const jobFolder = join(clusterDir, 'loadtest');
  const job = existsSync(jobFolder) ? overlaidJob(jobFolder, images, substitutions) : [];
  const namespaces = [
    ...new Set([
      ...plan.folders.flatMap((f) => f.objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name)),
      ...plan.folders.map((f) => f.namespace),
      ...plan.applications.map((a) => a.metadata.namespace!),
    ]),
  ];
  const cluster = `${envName} ${clusterDir}`;
  const standby = plan.folders.flatMap((f) => f.objects).find((o) => o.kind === 'Cluster' && isReplicaCluster(o));
  try {
    await timeline.phase('reset', `delete namespaces ${namespaces.join(', ')} left by an earlier run`, () =>
      reset(kubectl, namespaces),
    );
    // ArgoCD's CreateNamespace=true; the base folder then takes them over with its labels.
    const namespaceObjects = plan.folders.flatMap((f) => f.objects.filter((o) => o.kind === 'Namespace'));
    await timeline.phase('namespaces', 'create the namespaces (CreateNamespace=true)', () =>
      kubectl.apply([
        ...namespaceObjects,
        ...namespaces
          .filter((n) => !namespaceObjects.some((o) => o.metadata.name === n))
          .map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })),
      ]),
    );
    const secrets = operatorSecrets();
    await timeline.phase('secrets', "create the runbook's Secrets (random values, never printed)", () =>
      kubectl.apply(secrets.objects, { fieldManager: 'operator' }),
    );
    await timeline.phase('dry-run', 'server-side dry run of every object', () =>
      kubectl.apply([...plan.applications, ...plan.folders.flatMap((f) => f.objects), ...job], { dryRun: true }),
    );
    await timeline.phase('applications', 'apply the Applications (no ArgoCD controller acts on them here)', () =>
      kubectl.apply(plan.applications),
    );
    for (const folder of plan.folders) {
      const workloads = workloadsOf(folder);
      await timeline.phase(
        `sync-${folder.app}`,
        `sync ${folder.app} (wave ${folder.wave}, ${folder.objects.length} objects)`,
        async () => {
          if (workloads.some((w) => w.metadata.name === 'hub')) await copyDatabaseSecret(kubectl);
          await kubectl.apply(folder.objects);
          const hubOnStandby = standby !== undefined && workloads.some((w) => w.metadata.name === 'hub');
          if (hubOnStandby) {
            await kubectl.apply(folder.objects);
            return;
          }
          for (const workload of workloads) {
            const kind = workload.kind as 'Deployment' | 'StatefulSet';
            await waitForWorkload(
              kubectl,
              kind,
              namespaceOf(workload, folder),
              workload.metadata.name,
              ROLLOUT_TIMEOUT_MS,
            );
          }
          for (const hpa of folder.objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
            await waitForAutoscaler(kubectl, namespaceOf(hpa, folder), hpa.metadata.name, ROLLOUT_TIMEOUT_MS);
          }
        },
      );
      folders.push({
        app: folder.app,
        wave: folder.wave,
        objects: folder.objects.length,
        workloads: workloads.map((w) => `${w.kind}/${w.metadata.name}`),
      });
    }

    if (standby !== undefined) {
      const hpa = plan.folders.flatMap((f) => f.objects).find((o) => o.kind === 'HorizontalPodAutoscaler')!;
      const min = (hpa.spec as { minReplicas?: number }).minReplicas ?? 1;
      const addresses = await timeline.phase(
        'standby',
        `${min} standby hubs up and not ready while the database is in recovery`,
        () => waitForStandbyHubs(kubectl, NAMESPACES.hub, 'app.kubernetes.io/name=hub', min, ROLLOUT_TIMEOUT_MS),
      );
      const hubPort = (await hubService(kubectl)).publicPort;
      const answers = await Promise.all(addresses.map((a) => standbyReadyAnswer(`${a}:${hubPort}`)));
      proofs['standby hubs before promotion'] = `${addresses.length} pods up, /api/ready 503: ${answers[0]}`;
      await timeline.phase('promote', `promote the replica cluster (pg_promote on ${standby.metadata.name})`, () =>
        promote(kubectl, standby.metadata.namespace!, `${standby.metadata.name}-standin`),
      );
      await timeline.phase('takeover', 'the hubs become Ready by themselves', () =>
        waitForAutoscaler(kubectl, NAMESPACES.hub, hpa.metadata.name, ROLLOUT_TIMEOUT_MS),
      );
    }

    const endpoints = await hubService(kubectl);
    const tenancy = await timeline.phase('provision', 'provision a tenant through the admin port of the Service', () =>
      provisionThrough(endpoints, secrets.adminToken),
    );
    const roundTrip = await timeline.phase('round-trip', 'a DM between two agents through the Service', () =>
      serviceRoundTrip(endpoints, tenancy.apiKey),
    );
    proofs['round trip through the Service'] = `${roundTrip.toFixed(1)} ms via ${endpoints.publicAddress}`;
    const pods = await kubectl.json<{ items: { metadata: { name: string }; status: { podIP: string } }[] }>([
      '-n',
      NAMESPACES.hub,
      'get',
      'pods',
      '-l',
      'app.kubernetes.io/name=hub',
      '--field-selector=status.phase=Running',
    ]);
    if (pods.items.length < 2) throw new Error(`${pods.items.length} hub pods run: presence across pods needs 2`);
    const addresses = pods.items.slice(0, 2).map((p) => `${p.status.podIP}:${endpoints.publicPort}`) as [
      string,
      string,
    ];
    const replicas = await timeline.phase(
      'across-pods',
      `presence and a DM across pods ${pods.items
        .slice(0, 2)
        .map((p) => p.metadata.name)
        .join(' and ')}`,
      () => acrossPods(addresses, tenancy.apiKey),
    );
    proofs['presence and DM across pods'] = `replicas ${replicas.join(' → ')}`;
    if (loadtestJob && job.length > 0) {
      const merged = await timeline.phase(
        'loadtest-job',
        `the load-test Job: ${JOB_OVERLAY.pods} pods, then loadtest:merge`,
        () => runLoadTestJob(kubectl, job, endpoints, secrets.adminToken, print),
      );
      if (merged.exitCode !== 0)
        throw new Error(
          `the load-test Job's merged run exited ${merged.exitCode}: ${merged.error?.message ?? 'a threshold failed'}`,
        );
      const s = merged.summary!;
      proofs['load-test Job'] =
        `${JOB_OVERLAY.pods} pods merged, ${s.thresholds.length} thresholds passed; ${merged.summaryPath}`;
    }
  } catch (error) {
    failures.push((error as Error).message);
  }
  return {
    environment: envName,
    cluster,
    passed: failures.length === 0,
    failures,
    substitutions,
    warnings: [...new Set(kubectl.warnings.splice(0))],
    notInstalled: plan.charts.map(
      (c) =>
        `${c.app} (Helm chart ${c.chart} ${c.version}, wave ${c.wave}): its CRDs are installed, its controller is not`,
    ),
    folders,
    proofs,
    seconds: Object.fromEntries(timeline.phases.map((p) => [p.name, p.seconds])),
  };
}

function markdown(reports: readonly VerifyReport[]): string {
  const lines = ['# k8s:verify', ''];
  for (const r of reports) {
    lines.push(`## ${r.cluster}: ${r.passed ? 'PASSED' : 'FAILED'}`, '');
    if (r.failures.length)
      lines.push('### Failures', '', ...r.failures.map((f) => `- ${f.replace(/\n/g, '\n  ')}`), '');
    lines.push('| Application | wave | objects | workloads Ready |', '| --- | --- | --- | --- |');
    lines.push(...r.folders.map((f) => `| ${f.app} | ${f.wave} | ${f.objects} | ${f.workloads.join(', ')} |`), '');
    lines.push('### Proofs', '', ...Object.entries(r.proofs).map(([k, v]) => `- ${k}: ${v}`), '');
    if (r.warnings.length) lines.push('### API server warnings', '', ...r.warnings.map((w) => `- ${w}`), '');
    lines.push('### Test overlay (never in dist/)', '', ...r.substitutions.map((s) => `- ${s}`), '');
    lines.push('### Not installed', '', ...r.notInstalled.map((s) => `- ${s}`), '');
  }
  return lines.join('\n');
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { region: { type: 'string', multiple: true }, 'loadtest-job': { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) {
    console.error('usage: npm run k8s:verify -- <env> [--region <name>]... [--loadtest-job]');
    return 1;
  }
  const env = loadEnvironment(positionals[0]!);
  if (env.platform !== 'hetzner') throw new Error(`environments/${env.name}.ts: not a Kubernetes environment`);
  const targets = clusterTargets(env).filter((t) => !values.region || values.region.includes(t.region.name));
  if (targets.length === 0) {
    console.error(
      `environments/${env.name}.ts: no cluster folder for tier ${env.tier}${values.region ? ` in ${values.region.join(', ')}` : ''}`,
    );
    return 1;
  }
  const access = clusterAccess();
  const kubectl = new Kubectl(access.kubectl, access.kubeconfig);
  const reports: VerifyReport[] = [];
  for (const target of targets) {
    const dir = join(repoRoot, target.gitopsPath);
    reports.push(await verifyCluster(kubectl, env.name, dir, (l) => console.log(l), repoRoot, values['loadtest-job']));
  }
  const dir = writeReport(`k8s-verify/${env.name}`, reports, markdown(reports));
  for (const r of reports) console.log(`${r.cluster}: ${r.passed ? 'PASSED' : `FAILED\n  ${r.failures.join('\n  ')}`}`);
  console.log(`report: ${dir}/report.md`);
  return reports.every((r) => r.passed) ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exit(await main());
