/*
 * The failover drill on a Kubernetes tier (2-3), as a plan: the kubectl commands in the order the
 * drill runs them, and the load it puts on the hub meanwhile. The names mirror the hub chart
 * (dist/k8s/<env>/hub: Deployment and PodDisruptionBudget `hub` in namespace `ringforge`), and a
 * dry run prints this plan, so what it shows is exactly what a drill does.
 */
import type { Environment } from '../../environments/index.ts';
import { k8sTarget } from '../lib/k8s-region.ts';
import type { PlanStep } from '../restore/k8s.ts';

export const K8S_HUB = {
  namespace: 'ringforge',
  deployment: 'hub',
  pdb: 'hub',
  selector: 'app.kubernetes.io/name=hub,app.kubernetes.io/instance=hub',
} as const;

/** Filled from the preflight's pod listing when the drill runs. */
export const PLACEHOLDERS = { pod: '<hub-pod>', node: '<node-of-another-hub-pod>' } as const;

/** The hub's default limit is 100 messages a minute per agent: one DM a second plus a broadcast every fifth stays under it. */
const DEFAULT_INTERVAL_MS = 1000;

export interface K8sFailoverPlanOptions {
  readonly env: Environment;
  /** Region whose cluster the current kubectl context must point at. @default - the environment's first region */
  readonly region?: string;
  /** WebSocket URL the agents connect to. @default - wss://<env.dns.hubHostname>/ws */
  readonly targetUrl?: string;
  /**
   * The hub's operations port, where the admin API answers; it is never routed from the internet.
   * @default http://127.0.0.1:9090 (`kubectl port-forward service/hub 9090:admin`)
   */
  readonly adminUrl?: string;
  readonly runId: string;
  /** @default 6 */
  readonly agents?: number;
  /** Seconds of load before and after each disruption. @default 30 */
  readonly stepSeconds?: number;
  /** Bound of the drain and of each wait for the Deployment: the RTO objective by default. */
  readonly waitSeconds?: number;
}

export interface LoadParameters {
  readonly url: string;
  /** Where the admin API that provisions the drill's tenant and API key answers. */
  readonly adminUrl: string;
  readonly tenant: string;
  readonly agents: number;
  readonly intervalMs: number;
  readonly stepSeconds: number;
  /** Sending stops by itself after this long, whatever happens to the drill. */
  readonly maxSeconds: number;
}

export interface K8sFailoverPlan {
  readonly title: string;
  readonly region: string;
  /** The region's Hetzner location: the `topology.kubernetes.io/region` label of its nodes. */
  readonly location: string;
  readonly load: LoadParameters;
  /** Preflight, disruptions and waits in order; `uncordon` is cleanup and always runs. */
  readonly steps: readonly PlanStep[];
}

export function k8sFailoverPlan(options: K8sFailoverPlanOptions): K8sFailoverPlan {
  const { env, region } = k8sTarget(options.env, options.region, 'failover');
  const wait = options.waitSeconds ?? env.drill.rtoSeconds;
  const step = options.stepSeconds ?? 30;
  const url = options.targetUrl ?? `wss://${env.dns.hubHostname}/ws`;
  const kubectl = ['kubectl', '--namespace', K8S_HUB.namespace];
  const rollout = [
    'kubectl',
    '--namespace',
    K8S_HUB.namespace,
    'rollout',
    'status',
    `deployment/${K8S_HUB.deployment}`,
  ];
  return {
    title: `failover drill, k8s target, ${env.name} region ${region.name}: deployment/${K8S_HUB.deployment} in namespace ${K8S_HUB.namespace}`,
    region: region.name,
    location: region.location,
    load: {
      url,
      adminUrl: options.adminUrl ?? 'http://127.0.0.1:9090',
      tenant: `failover-drill-${options.runId}`,
      agents: options.agents ?? 6,
      intervalMs: DEFAULT_INTERVAL_MS,
      stepSeconds: step,
      // Every phase at its bound, plus a margin for connecting and settling.
      maxSeconds: 4 * step + 3 * wait + 60,
    },
    steps: [
      {
        name: 'context',
        description: 'the kubectl context the drill acts on',
        command: ['kubectl', 'config', 'current-context'],
      },
      {
        name: 'region',
        description: `every node of the cluster is in region ${region.location}`,
        command: [
          'kubectl',
          'get',
          'nodes',
          '--output',
          'jsonpath={.items[*].metadata.labels.topology\\.kubernetes\\.io/region}',
        ],
      },
      {
        name: 'namespace',
        description: `namespace ${K8S_HUB.namespace} exists`,
        command: ['kubectl', 'get', 'namespace', K8S_HUB.namespace, '--output', 'name'],
      },
      {
        name: 'ready-replicas',
        description: `deployment/${K8S_HUB.deployment} has at least 2 ready replicas`,
        command: [
          ...kubectl,
          'get',
          `deployment/${K8S_HUB.deployment}`,
          '--output',
          'jsonpath={.status.readyReplicas}',
        ],
      },
      {
        name: 'pdb',
        description: `the PodDisruptionBudget ${K8S_HUB.pdb} guards the hub during the drain`,
        command: [...kubectl, 'get', `poddisruptionbudget/${K8S_HUB.pdb}`, '--output', 'name'],
      },
      {
        name: 'pods',
        description: 'hub pods and their nodes: on at least 2 nodes, so a drained node leaves hubs serving',
        command: [
          ...kubectl,
          'get',
          'pods',
          '--selector',
          K8S_HUB.selector,
          '--field-selector',
          'status.phase=Running',
          '--output',
          'jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName}{"\\n"}{end}',
        ],
      },
      {
        name: 'delete-pod',
        description: 'delete one hub pod under load',
        command: [...kubectl, 'delete', 'pod', PLACEHOLDERS.pod, '--wait=false'],
      },
      {
        name: 'pod-recovered',
        description: `the Deployment is fully available again (within ${wait} s)`,
        command: [...rollout, `--timeout=${wait}s`],
      },
      {
        name: 'cordon',
        description: 'cordon the node of another hub pod, so nothing is scheduled back onto it',
        command: ['kubectl', 'cordon', PLACEHOLDERS.node],
      },
      {
        name: 'drain',
        description: 'drain it under load: evictions respect the PodDisruptionBudget',
        command: [
          'kubectl',
          'drain',
          PLACEHOLDERS.node,
          '--ignore-daemonsets',
          '--delete-emptydir-data',
          `--timeout=${wait}s`,
        ],
      },
      {
        name: 'node-recovered',
        description: `the Deployment is fully available again on the other nodes (within ${wait} s)`,
        command: [...rollout, `--timeout=${wait}s`],
      },
      {
        name: 'uncordon',
        description: 'make the node schedulable again',
        command: ['kubectl', 'uncordon', PLACEHOLDERS.node],
      },
    ],
  };
}

/** The pod to delete and the node of another hub pod to drain, from the `pods` step's output. */
export function chooseTargets(podsOutput: string): { pod: string; node: string } {
  const pods = podsOutput
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields): fields is [string, string] => fields.length === 2);
  const pod = pods[0];
  const other = pods.find(([, node]) => node !== pod?.[1]);
  if (pod === undefined || other === undefined)
    throw new Error(
      `hub pods must run on at least 2 nodes for the drain to leave one serving (running: ${pods.map((p) => p.join(' on ')).join(', ') || 'none'})`,
    );
  return { pod: pod[0], node: other[1] };
}
