/*
 * The distributed load test of a cluster: an Indexed Job whose pods each run one slice of a scenario
 * (`--slice` from JOB_COMPLETION_INDEX) against the in-cluster hub Service, all starting at one time
 * the operator sets at launch. Rendered to dist/k8s/<cluster>/loadtest/, a folder no Application
 * syncs: an operator applies it by hand when a test is wanted (README, "Load tests").
 */
import { App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { appLabels, selectorLabels } from '../constructs/k8s/labels.ts';
import { AllowTraffic, Peer } from '../constructs/k8s/network-policy.ts';
import { resources, restrictedContainer, restrictedPod } from '../constructs/k8s/security.ts';
import { IGNORE_ANNOTATION, IGNORE_REASON_ANNOTATION } from './policy/k8s-policy.ts';
import { NAMESPACES, type ClusterTarget } from './clusters.ts';

/** The folder of dist/k8s/<cluster>/ and the name of its objects. */
export const LOADTEST_APP = 'loadtest';
/** Created at launch, holding `start-at`: the time every pod starts iterating. */
export const LOADTEST_START_CONFIGMAP = 'loadtest-start';
/** Created by the operator, holding `key`: one API key, or one per pod, comma-separated. */
export const LOADTEST_API_KEY_SECRET = 'loadtest-api-key';
/** Where each pod writes its run directory; its log carries the same files (`--print-run`). */
export const RESULTS_DIR = '/results';

/** The hub image's user; the runner is its `/app/loadtest.mjs`. */
const UID = 10001;
// Long enough for a launch up to 10 minutes ahead, setup and the full profile; a stuck pod is ended.
const ACTIVE_DEADLINE_SECONDS = 45 * 60;
// Finished pods, and the logs the results are collected from, stay a day.
const TTL_AFTER_FINISHED_SECONDS = 24 * 60 * 60;
/** The hub Service and pods as `HubWorkload` names them. */
const HUB = { service: 'hub', podLabels: selectorLabels('hub') };

export function loadtestChart(app: App, t: ClusterTarget): Chart {
  const { env } = t;
  const { parallelism, scenario, profile, confirm } = env.loadtest;
  const namespace = NAMESPACES.hub;
  const labels = appLabels(LOADTEST_APP, 'loadtest');
  const metadata = { name: LOADTEST_APP, namespace, labels };
  const target = `ws://${HUB.service}.${namespace}.svc:${env.hub.port}${env.hub.websocketPath}`;
  const chart = new Chart(app, LOADTEST_APP);

  new k8s.KubePriorityClass(chart, 'Priority', {
    metadata: { name: 'ringforge-loadtest', labels },
    // Below every service pod and never preempting one: the load must not displace what it measures.
    value: -100,
    preemptionPolicy: 'Never',
    globalDefault: false,
    description: 'RingForge load-test runners: scheduled after, and preempted before, the services they load.',
  });
  new k8s.KubeServiceAccount(chart, 'ServiceAccount', { metadata, automountServiceAccountToken: false });
  new k8s.KubeJob(chart, 'Job', {
    metadata: {
      ...metadata,
      annotations: {
        [IGNORE_ANNOTATION]: 'pod-probes',
        [IGNORE_REASON_ANNOTATION]:
          'a run-to-completion Job serves nothing to probe; activeDeadlineSeconds ends a runner that hangs',
      },
    },
    spec: {
      completionMode: 'Indexed',
      completions: parallelism,
      parallelism,
      // One failed slice spoils the merged run: no retries, the operator looks and launches again.
      backoffLimit: 0,
      activeDeadlineSeconds: ACTIVE_DEADLINE_SECONDS,
      ttlSecondsAfterFinished: TTL_AFTER_FINISHED_SECONDS,
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: LOADTEST_APP,
          automountServiceAccountToken: false,
          priorityClassName: 'ringforge-loadtest',
          restartPolicy: 'Never',
          securityContext: restrictedPod(UID),
          containers: [
            {
              name: 'runner',
              image: `${env.hub.image.repository}@${env.hub.image.digest}`,
              command: ['node', '/app/loadtest.mjs'],
              args: [
                scenario,
                ...['--env', env.name, '--profile', profile, '--target', target, '--out', RESULTS_DIR],
                '--print-run',
                // Applying this environment's Job by hand is the operator's confirmation.
                ...(confirm ? ['--yes'] : []),
              ],
              env: [
                // Kubernetes sets JOB_COMPLETION_INDEX; the count of slices comes with it.
                { name: 'LOADTEST_PARALLELISM', value: String(parallelism) },
                {
                  name: 'LOADTEST_START_AT',
                  valueFrom: { configMapKeyRef: { name: LOADTEST_START_CONFIGMAP, key: 'start-at' } },
                },
                {
                  name: 'LOADTEST_API_KEY',
                  valueFrom: { secretKeyRef: { name: LOADTEST_API_KEY_SECRET, key: 'key' } },
                },
              ],
              resources: resources({ cpuMillis: 1000, memoryMiB: 512, limitCpuMillis: 2000, limitMemoryMiB: 1024 }),
              securityContext: restrictedContainer(UID),
              volumeMounts: [{ name: 'results', mountPath: RESULTS_DIR }],
            },
          ],
          volumes: [{ name: 'results', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } }],
        },
      },
    },
  });

  // Both directions on top of the namespace's default deny: the runners reach the hub's public port.
  const runners = Peer.pods(selectorLabels(LOADTEST_APP));
  new AllowTraffic(chart, 'RunnerTraffic', {
    name: LOADTEST_APP,
    namespace,
    podLabels: selectorLabels(LOADTEST_APP),
    egress: [{ peers: [Peer.pods(HUB.podLabels)], tcpPorts: [env.hub.port] }],
  });
  new AllowTraffic(chart, 'HubFromRunners', {
    name: `${HUB.service}-from-${LOADTEST_APP}`,
    namespace,
    podLabels: HUB.podLabels,
    ingress: [{ peers: [runners], tcpPorts: [env.hub.port] }],
  });
  return chart;
}
