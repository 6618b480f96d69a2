import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { appLabels } from './labels.ts';
import { StatefulService } from './stateful-service.ts';

export interface NatsJetStreamProps {
  readonly namespace: string;
  /** @default 'nats' */
  readonly name?: string;
  /** Odd, so JetStream's Raft groups keep a quorum when one server is down. @default 3 */
  readonly replicas?: number;
  /** @default 'docker.io/library/nats:2.11.6-alpine' */
  readonly image?: string;
  /** @default 10 */
  readonly storageGiB?: number;
  /** @default 'hcloud-volumes' */
  readonly storageClass?: string;
  /** @default 'ringforge-critical' */
  readonly priorityClassName?: string;
}

const CLIENT_PORT = 4222;
const CLUSTER_PORT = 6222;
const MONITOR_PORT = 8222;

/** NATS with JetStream on persistent volumes, clustered over stable pod names. */
export class NatsJetStream extends Construct {
  readonly name: string;
  readonly clientPort = CLIENT_PORT;
  readonly clusterPort = CLUSTER_PORT;
  readonly monitorPort = MONITOR_PORT;
  readonly podLabels: Record<string, string>;

  constructor(scope: Construct, id: string, props: NatsJetStreamProps) {
    super(scope, id);
    const name = props.name ?? 'nats';
    const replicas = props.replicas ?? 3;
    if (replicas % 2 === 0) throw new Error(`replicas must be odd for a JetStream quorum (got ${replicas})`);
    this.name = name;
    const storageGiB = props.storageGiB ?? 10;
    const routes = Array.from(
      { length: replicas },
      (_, i) => `nats://${name}-${i}.${name}-headless.${props.namespace}.svc.cluster.local:${CLUSTER_PORT}`,
    );
    const config = [
      `port: ${CLIENT_PORT}`,
      `http_port: ${MONITOR_PORT}`,
      'server_name: $POD_NAME',
      'lame_duck_duration: 30s',
      'jetstream {',
      '  store_dir: /data',
      `  max_file_store: ${Math.floor(storageGiB * 0.9)}G`,
      '  max_memory_store: 256M',
      '}',
      'cluster {',
      `  name: ${name}`,
      `  port: ${CLUSTER_PORT}`,
      `  routes: [${routes.join(', ')}]`,
      '}',
      '',
    ].join('\n');
    new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name, namespace: props.namespace, labels: appLabels(name, name) },
      data: { 'nats.conf': config },
    });
    const health = (path: string, seconds: number): k8s.Probe => ({
      httpGet: { path, port: k8s.IntOrString.fromString('monitor') },
      periodSeconds: seconds,
      timeoutSeconds: 3,
      failureThreshold: 3,
    });
    const service = new StatefulService(this, 'Resource', {
      name,
      namespace: props.namespace,
      replicas,
      image: props.image ?? 'docker.io/library/nats:2.11.6-alpine',
      command: ['nats-server', '--config', `/etc/${name}/nats.conf`],
      env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
      ports: [
        { name: 'client', port: CLIENT_PORT },
        { name: 'cluster', port: CLUSTER_PORT },
        { name: 'monitor', port: MONITOR_PORT },
      ],
      readiness: health('/healthz?js-enabled-only=true', 5),
      liveness: health('/healthz?js-server-only=true', 10),
      cpuMillis: 250,
      memoryMiB: 512,
      limitCpuMillis: 1000,
      limitMemoryMiB: 1024,
      storageGiB,
      storageClass: props.storageClass ?? 'hcloud-volumes',
      uid: 10001,
      priorityClassName: props.priorityClassName ?? 'ringforge-critical',
      dataPath: '/data',
      configMap: name,
    });
    this.podLabels = service.podLabels;
  }
}
