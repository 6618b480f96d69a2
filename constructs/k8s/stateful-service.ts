import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { appLabels, selectorLabels } from './labels.ts';
import { resources, restrictedContainer, restrictedPod } from './security.ts';

/** What differs between replicated data services (today Valkey): the rest is shared policy. */
export interface StatefulServiceProps {
  readonly name: string;
  readonly namespace: string;
  readonly replicas: number;
  /** Image pinned to an exact tag or digest. */
  readonly image: string;
  readonly command: readonly string[];
  readonly env?: readonly k8s.EnvVar[];
  /** Named ports of the main container. */
  readonly ports: readonly { readonly name: string; readonly port: number }[];
  /** The port the client Service exposes, by name of any container's port. @default - the first of `ports` */
  readonly clientPort?: { readonly name: string; readonly port: number };
  /** Until it succeeds, neither readiness nor liveness is probed. @default - none */
  readonly startup?: k8s.Probe;
  readonly readiness: k8s.Probe;
  readonly liveness: k8s.Probe;
  readonly cpuMillis: number;
  readonly memoryMiB: number;
  readonly limitCpuMillis: number;
  readonly limitMemoryMiB: number;
  readonly storageGiB: number;
  readonly storageClass: string;
  readonly uid: number;
  readonly priorityClassName: string;
  /** Where the persistent volume is mounted. */
  readonly dataPath: string;
  /** Volumes beside `data` and `tmp`, e.g. a Secret or generated configuration. @default [] */
  readonly volumes?: readonly k8s.Volume[];
  /** Mounts of those volumes into the main container. @default [] */
  readonly volumeMounts?: readonly k8s.VolumeMount[];
  /** Run to completion before the main container, e.g. to write its configuration. @default [] */
  readonly initContainers?: readonly k8s.Container[];
  /** Extra containers, e.g. a metrics exporter. @default [] */
  readonly sidecars?: readonly k8s.Container[];
}

/**
 * A StatefulSet with a headless Service for stable pod names, a client Service, a PodDisruptionBudget
 * allowing one pod down, required anti-affinity across nodes, a dedicated ServiceAccount without a
 * token, restricted security contexts and persistent volumes.
 */
export class StatefulService extends Construct {
  readonly podLabels: Record<string, string>;
  readonly headlessService: string;

  constructor(scope: Construct, id: string, p: StatefulServiceProps) {
    super(scope, id);
    if (p.replicas < 2) throw new Error(`${p.name}: replicas must be >= 2 (got ${p.replicas})`);
    const labels = appLabels(p.name, p.name);
    const selector = selectorLabels(p.name);
    this.podLabels = selector;
    this.headlessService = `${p.name}-headless`;
    const metadata = { name: p.name, namespace: p.namespace, labels };
    const servicePort = (port: { readonly name: string; readonly port: number }) => ({
      name: port.name,
      port: port.port,
      targetPort: k8s.IntOrString.fromString(port.name),
    });
    const servicePorts = p.ports.map(servicePort);

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata, automountServiceAccountToken: false });
    new k8s.KubeService(this, 'Headless', {
      metadata: { ...metadata, name: this.headlessService },
      spec: { clusterIp: 'None', publishNotReadyAddresses: true, selector, ports: servicePorts },
    });
    new k8s.KubeService(this, 'Service', {
      metadata,
      spec: { type: 'ClusterIP', selector, ports: [servicePort(p.clientPort ?? p.ports[0]!)] },
    });
    new k8s.KubeStatefulSet(this, 'Resource', {
      metadata,
      spec: {
        serviceName: this.headlessService,
        replicas: p.replicas,
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: selector },
        updateStrategy: { type: 'RollingUpdate' },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: p.name,
            automountServiceAccountToken: false,
            priorityClassName: p.priorityClassName,
            securityContext: restrictedPod(p.uid),
            affinity: {
              podAntiAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: [
                  { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } },
                ],
              },
            },
            initContainers: [...(p.initContainers ?? [])],
            containers: [
              {
                name: p.name,
                image: p.image,
                imagePullPolicy: p.image.includes('@sha256:') ? 'IfNotPresent' : 'Always',
                command: [...p.command],
                env: [...(p.env ?? [])],
                ports: p.ports.map((port) => ({ name: port.name, containerPort: port.port })),
                ...(p.startup === undefined ? {} : { startupProbe: p.startup }),
                readinessProbe: p.readiness,
                livenessProbe: p.liveness,
                resources: resources(p),
                securityContext: restrictedContainer(p.uid),
                volumeMounts: [
                  { name: 'data', mountPath: p.dataPath },
                  { name: 'tmp', mountPath: '/tmp' },
                  ...(p.volumeMounts ?? []),
                ],
              },
              ...(p.sidecars ?? []),
            ],
            volumes: [{ name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } }, ...(p.volumes ?? [])],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data', labels },
            spec: {
              accessModes: ['ReadWriteOnce'],
              storageClassName: p.storageClass,
              resources: { requests: { storage: k8s.Quantity.fromString(`${p.storageGiB}Gi`) } },
            },
          },
        ],
      },
    });
    new k8s.KubePodDisruptionBudget(this, 'Disruption', {
      metadata,
      spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selector } },
    });
  }
}
