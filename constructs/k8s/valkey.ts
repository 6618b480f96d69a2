import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { restrictedContainer, resources } from './security.ts';
import { StatefulService } from './stateful-service.ts';

export interface ValkeyProps {
  readonly namespace: string;
  /** @default 'valkey' */
  readonly name?: string;
  /** Primary plus replicas. @default 2 */
  readonly replicas?: number;
  /** @default 'docker.io/valkey/valkey:8.1.3' */
  readonly image?: string;
  /** @default 'docker.io/oliver006/redis_exporter:v1.74.0' */
  readonly exporterImage?: string;
  /** Memory Valkey may use for data; the container limit adds headroom for replication buffers. @default 1024 */
  readonly maxMemoryMiB?: number;
  /** @default 10 */
  readonly storageGiB?: number;
  /** @default 'hcloud-volumes' */
  readonly storageClass?: string;
  /** Secret with the `password` key, created by the secrets runbook. @default 'valkey-auth' */
  readonly passwordSecret?: string;
  /** @default 'ringforge-critical' */
  readonly priorityClassName?: string;
}

const PORT = 6379;
const EXPORTER_PORT = 9121;
const UID = 10001;

/**
 * Valkey with append-only persistence: pod 0 is the primary, the others replicate from it. The client
 * Service selects the primary only, so the hub's pub/sub and writes always reach it. A failover is a
 * runbook step (promote a replica), as with tier 1.
 */
export class Valkey extends Construct {
  readonly name: string;
  readonly port = PORT;
  readonly podLabels: Record<string, string>;

  constructor(scope: Construct, id: string, props: ValkeyProps) {
    super(scope, id);
    const name = props.name ?? 'valkey';
    const maxMemory = props.maxMemoryMiB ?? 1024;
    this.name = name;
    const primaryHost = `${name}-0.${name}-headless.${props.namespace}.svc.cluster.local`;
    const password: k8s.EnvVar = {
      name: 'VALKEY_PASSWORD',
      valueFrom: { secretKeyRef: { name: props.passwordSecret ?? 'valkey-auth', key: 'password' } },
    };
    const ping = (seconds: number): k8s.Probe => ({
      exec: { command: ['sh', '-c', 'valkey-cli --no-auth-warning -a "$VALKEY_PASSWORD" ping | grep -q PONG'] },
      periodSeconds: seconds,
      timeoutSeconds: 3,
      failureThreshold: 3,
    });
    const service = new StatefulService(this, 'Resource', {
      name,
      namespace: props.namespace,
      replicas: props.replicas ?? 2,
      image: props.image ?? 'docker.io/valkey/valkey:8.1.3',
      command: [
        'sh',
        '-c',
        [
          `if [ "$(hostname)" != "${name}-0" ]; then set -- --replicaof ${primaryHost} ${PORT}; fi`,
          `exec valkey-server --port ${PORT} --dir /data --appendonly yes --maxmemory ${maxMemory}mb` +
            ' --maxmemory-policy noeviction --requirepass "$VALKEY_PASSWORD" --masterauth "$VALKEY_PASSWORD" "$@"',
        ].join('\n'),
      ],
      env: [password],
      ports: [{ name: 'redis', port: PORT }],
      readiness: ping(5),
      liveness: ping(10),
      cpuMillis: 250,
      memoryMiB: maxMemory + 256,
      limitCpuMillis: 1000,
      limitMemoryMiB: maxMemory + 512,
      storageGiB: props.storageGiB ?? 10,
      storageClass: props.storageClass ?? 'hcloud-volumes',
      uid: UID,
      priorityClassName: props.priorityClassName ?? 'ringforge-critical',
      dataPath: '/data',
      serviceSelector: { 'statefulset.kubernetes.io/pod-name': `${name}-0` },
      sidecars: [
        {
          name: 'metrics',
          image: props.exporterImage ?? 'docker.io/oliver006/redis_exporter:v1.74.0',
          imagePullPolicy: 'Always',
          env: [
            { name: 'REDIS_ADDR', value: `redis://localhost:${PORT}` },
            { ...password, name: 'REDIS_PASSWORD' },
          ],
          ports: [{ name: 'metrics', containerPort: EXPORTER_PORT }],
          readinessProbe: {
            httpGet: { path: '/health', port: k8s.IntOrString.fromString('metrics') },
            periodSeconds: 10,
          },
          livenessProbe: {
            httpGet: { path: '/health', port: k8s.IntOrString.fromString('metrics') },
            periodSeconds: 20,
          },
          resources: resources({
            cpuMillis: 50,
            memoryMiB: 64,
            limitCpuMillis: 200,
            limitMemoryMiB: 128,
            ephemeralMiB: 16,
          }),
          securityContext: restrictedContainer(UID),
        },
      ],
    });
    this.podLabels = service.podLabels;
  }
}
