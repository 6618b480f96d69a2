/*
 * Waits for a Deployment or StatefulSet to be Ready, as ArgoCD's health check does, and fails early
 * with the cluster's own words when it cannot become Ready: the controller's FailedCreate (Pod
 * Security admission refusing the pods), or pods stuck on their image or configuration.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kubectl } from './kubectl.ts';

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

interface Workload {
  metadata: { generation: number };
  spec: { replicas?: number; selector: { matchLabels: Record<string, string> } };
  status: {
    observedGeneration?: number;
    replicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    updatedReplicas?: number;
    conditions?: Condition[];
  };
}

interface PodList {
  items: {
    metadata: { name: string };
    status: {
      containerStatuses?: { name: string; state: { waiting?: { reason: string; message?: string } } }[];
    };
  }[];
}

/** Waiting reasons that do not clear up by waiting. */
const STUCK = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
  'CreateContainerConfigError',
]);
const STUCK_AFTER_MS = 30_000;
const POLL_MS = 2_000;

function ready(kind: string, w: Workload): boolean {
  const want = w.spec.replicas ?? 1;
  if ((w.status.observedGeneration ?? 0) < w.metadata.generation || (w.status.updatedReplicas ?? 0) < want)
    return false;
  return kind === 'Deployment' ? (w.status.availableReplicas ?? 0) >= want : (w.status.readyReplicas ?? 0) >= want;
}

async function refusals(kubectl: Kubectl, namespace: string, name: string): Promise<string[]> {
  const events = await kubectl.json<{ items: { reason: string; message: string; involvedObject: { name: string } }[] }>(
    ['-n', namespace, 'get', 'events', '--field-selector=reason=FailedCreate'],
  );
  // A Deployment's pods are created by its ReplicaSets, named after it.
  return events.items.filter((e) => e.involvedObject.name.startsWith(name)).map((e) => e.message);
}

async function podStates(kubectl: Kubectl, namespace: string, selector: Record<string, string>) {
  const labels = Object.entries(selector).map(([k, v]) => `${k}=${v}`);
  const pods = await kubectl.json<PodList>(['-n', namespace, 'get', 'pods', '-l', labels.join(',')]);
  return pods.items.flatMap((pod) =>
    (pod.status.containerStatuses ?? []).flatMap((c) =>
      c.state.waiting ? [{ pod: pod.metadata.name, container: c.name, ...c.state.waiting }] : [],
    ),
  );
}

export async function waitForWorkload(
  kubectl: Kubectl,
  kind: 'Deployment' | 'StatefulSet',
  namespace: string,
  name: string,
  timeoutMs: number,
): Promise<void> {
  const started = Date.now();
  const what = `${kind.toLowerCase()}/${name} in ${namespace}`;
  for (;;) {
    const workload = await kubectl.json<Workload>(['-n', namespace, 'get', kind.toLowerCase(), name]);
    if (ready(kind, workload)) return;
    const refused = await refusals(kubectl, namespace, name);
    if (refused.length > 0) throw new Error(`${what} cannot create its pods: ${refused.at(-1)}`);
    const waiting = await podStates(kubectl, namespace, workload.spec.selector.matchLabels);
    const stuck = waiting.filter((w) => STUCK.has(w.reason));
    const describe = (list: typeof waiting) =>
      list.map((w) => `${w.pod}/${w.container} ${w.reason}${w.message ? `: ${w.message}` : ''}`).join('; ');
    if (stuck.length > 0 && Date.now() - started > STUCK_AFTER_MS) throw new Error(`${what}: ${describe(stuck)}`);
    if (Date.now() - started > timeoutMs) {
      const s = workload.status;
      throw new Error(
        `${what} not Ready after ${timeoutMs / 1000} s (ready ${s.readyReplicas ?? 0}/${workload.spec.replicas ?? 1})${waiting.length ? `: ${describe(waiting)}` : ''}`,
      );
    }
    await sleep(POLL_MS);
  }
}

interface Autoscaler {
  spec: { minReplicas?: number; scaleTargetRef: { kind: string; name: string } };
}

/**
 * Waits until an HPA has brought its target to at least `minReplicas` and those replicas are
 * Ready: the Deployment has no replica count of its own, so what runs is the autoscaler's doing.
 */
export async function waitForAutoscaler(
  kubectl: Kubectl,
  namespace: string,
  name: string,
  timeoutMs: number,
): Promise<number> {
  const started = Date.now();
  const hpa = await kubectl.json<Autoscaler>(['-n', namespace, 'get', 'hpa', name]);
  const { kind, name: target } = hpa.spec.scaleTargetRef;
  const min = hpa.spec.minReplicas ?? 1;
  for (;;) {
    const workload = await kubectl.json<Workload>(['-n', namespace, 'get', kind.toLowerCase(), target]);
    if ((workload.spec.replicas ?? 1) >= min) break;
    if (Date.now() - started > timeoutMs) {
      throw new Error(
        `hpa/${name} in ${namespace} did not scale ${kind.toLowerCase()}/${target} to its minimum of ${min} within ${timeoutMs / 1000} s`,
      );
    }
    await sleep(POLL_MS);
  }
  await waitForWorkload(
    kubectl,
    kind as 'Deployment' | 'StatefulSet',
    namespace,
    target,
    Math.max(1, timeoutMs - (Date.now() - started)),
  );
  return min;
}
