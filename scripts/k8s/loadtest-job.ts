/*
 * Runs the environment's distributed load test (dist/k8s/<cluster>/loadtest/, which ArgoCD does not
 * sync) on the test cluster as the README tells an operator to: a key per pod in the
 * loadtest-api-key Secret, a shared start in the loadtest-start ConfigMap, the Job applied, each
 * pod's log saved and the slices merged exactly by `loadtest:merge`. The test overlay runs it at the
 * smoke profile of the connect scenario with 2 pods (the hub's default rate limits, which stay on
 * here, would throttle a full fanout from a handful of keys).
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NAMESPACES } from '../../charts/clusters.ts';
import { mergeRuns, type MergeResult } from '../../loadtests/merge.ts';
import type { Kubectl } from './kubectl.ts';
import { provisionThrough, type HubEndpoints } from './proofs.ts';
import { readManifests, type KubeObject } from './sync-plan.ts';
import { substituteImages, type LocalImages } from './test-overlay.ts';

export const JOB_OVERLAY = { scenario: 'connect', profile: 'smoke', pods: 2 } as const;
const START_DELAY_MS = 20_000;
const POLL_MS = 2_000;

interface JobSpec {
  parallelism: number;
  completions: number;
  template: { spec: { containers: { args: string[]; env: { name: string; value?: string }[] }[] } };
}

/** The Job folder with the test overlay: local image, smoke profile of `connect`, 2 pods. */
export function overlaidJob(folder: string, images: LocalImages, notes: string[]): KubeObject[] {
  const objects = readdirSync(folder)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => readManifests(join(folder, f)))
    .map((o) => substituteImages(o, images, notes));
  for (const job of objects.filter((o) => o.kind === 'Job')) {
    const spec = job.spec as JobSpec;
    const runner = spec.template.spec.containers[0]!;
    const args = [...runner.args];
    args[0] = JOB_OVERLAY.scenario;
    args[args.indexOf('--profile') + 1] = JOB_OVERLAY.profile;
    runner.args = args;
    spec.parallelism = spec.completions = JOB_OVERLAY.pods;
    runner.env = runner.env.map((e) =>
      e.name === 'LOADTEST_PARALLELISM' ? { ...e, value: String(JOB_OVERLAY.pods) } : e,
    );
    notes.push(
      `Job/${job.metadata.name}: ${JOB_OVERLAY.scenario} at ${JOB_OVERLAY.profile} in ${JOB_OVERLAY.pods} pods (not the environment's scenario and size)`,
    );
  }
  return objects;
}

interface JobStatus {
  status: { succeeded?: number; failed?: number; conditions?: { type: string; status: string; message?: string }[] };
}

async function waitForJob(kubectl: Kubectl, name: string, pods: number, timeoutMs: number): Promise<void> {
  const started = Date.now();
  for (;;) {
    const { status } = await kubectl.json<JobStatus>(['-n', NAMESPACES.hub, 'get', 'job', name]);
    if ((status.succeeded ?? 0) >= pods) return;
    const failed = status.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
    if (failed || (status.failed ?? 0) > 0)
      throw new Error(`job/${name} failed: ${failed?.message ?? `${status.failed} pods failed`}`);
    if (Date.now() - started > timeoutMs)
      throw new Error(`job/${name}: ${status.succeeded ?? 0} of ${pods} pods done after ${timeoutMs / 1000} s`);
    await sleep(POLL_MS);
  }
}

/** Applies the Job, waits for every pod, merges their logs; returns the merge's result. */
export async function runLoadTestJob(
  kubectl: Kubectl,
  objects: readonly KubeObject[],
  service: HubEndpoints,
  adminToken: string,
  print: (line: string) => void,
): Promise<MergeResult> {
  const job = objects.find((o) => o.kind === 'Job')!;
  const keys = [];
  for (let i = 0; i < JOB_OVERLAY.pods; i++) keys.push((await provisionThrough(service, adminToken)).apiKey);
  await kubectl.apply(
    [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'loadtest-api-key', namespace: NAMESPACES.hub },
        stringData: { key: keys.join(',') },
      },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'loadtest-start', namespace: NAMESPACES.hub },
        data: { 'start-at': new Date(Date.now() + START_DELAY_MS).toISOString() },
      },
    ],
    { fieldManager: 'operator' },
  );
  await kubectl.run(['-n', NAMESPACES.hub, 'delete', 'job', job.metadata.name, '--ignore-not-found', '--wait=true']);
  await kubectl.apply(objects);
  await waitForJob(kubectl, job.metadata.name, JOB_OVERLAY.pods, 300_000);
  const dir = mkdtempSync(join(tmpdir(), 'rf-loadtest-job-'));
  try {
    const logs = [];
    for (let i = 0; i < JOB_OVERLAY.pods; i++) {
      const log = await kubectl.run([
        '-n',
        NAMESPACES.hub,
        'logs',
        '--tail=-1',
        '-l',
        `job-name=${job.metadata.name},batch.kubernetes.io/job-completion-index=${i}`,
      ]);
      const path = join(dir, `slice-${i}.log`);
      writeFileSync(path, log);
      logs.push(path);
    }
    return mergeRuns(logs, undefined, print);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
