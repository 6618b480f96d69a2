import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { appLabels, selectorLabels } from './labels.ts';
import { AllowTraffic, Peer } from './network-policy.ts';
import { restrictedContainer, restrictedPod, resources } from './security.ts';
import { IGNORE_ANNOTATION, IGNORE_REASON_ANNOTATION } from '../../charts/policy/k8s-policy.ts';
import { StatefulService } from './stateful-service.ts';
import { CONFIGURE_SH, PROBE_SH, SNAPSHOT_SH, UPLOAD_SH, VALKEY_PATHS } from './valkey-scripts.ts';

/** Where the RDB snapshots go: the region's backup bucket, under `<folder>/valkey/`. */
export interface ValkeySnapshotStore {
  readonly bucket: string;
  readonly folder: string;
  /** `https://…` of the S3 API. */
  readonly endpointUrl: string;
  /** S3 signing region. */
  readonly s3Region: string;
  /** Secret in the namespace with `ACCESS_KEY_ID` and `ACCESS_SECRET_KEY`. */
  readonly credentialsSecret: string;
  /** Cron schedule of the snapshot job. @default - every 6 hours, at minute 17 */
  readonly schedule?: string;
}

export interface ValkeyProps {
  readonly namespace: string;
  /** @default 'valkey' */
  readonly name?: string;
  /** Pods, each a Valkey server (one primary, the others replicas) and a sentinel. @default 3 */
  readonly replicas?: number;
  /** Name the sentinels give the primary; clients ask for it. @default 'ringforge' */
  readonly masterName?: string;
  /** @default 'docker.io/valkey/valkey:8.1.3' */
  readonly image?: string;
  /** @default 'docker.io/oliver006/redis_exporter:v1.74.0' */
  readonly exporterImage?: string;
  /** Runs the snapshot upload (curl with SigV4). @default 'docker.io/curlimages/curl:8.11.1' */
  readonly uploadImage?: string;
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
  /** RDB snapshots copied to object storage on a schedule. @default - none */
  readonly snapshots?: ValkeySnapshotStore;
}

/** A tag may move, so it is pulled every time; a digest cannot. */
const pullPolicy = (image: string) => (image.includes('@sha256:') ? 'IfNotPresent' : 'Always');

const PORT = 6379;
const SENTINEL_PORT = 26379;
const EXPORTER_PORT = 9121;
const UID = 10001;
/** How long the sentinels wait for an unanswering primary before they agree it is down. */
const DOWN_AFTER_MS = 5_000;
/** An AOF replay may take this long before the startup probe gives up: 5 s × 360 = 30 min. */
const STARTUP_PROBES = 360;

/**
 * Valkey with append-only persistence and Sentinel: every pod runs a server and a sentinel sidecar.
 * Pod 0 starts as the primary; after that the sentinels (quorum 2 of 3) decide, promote a replica
 * when the primary stops answering, and clients ask them where the primary is. Sidecars rather than
 * a StatefulSet of their own: the pods are already spread over three nodes by required anti-affinity,
 * so losing a node takes one server and one sentinel, and the two sentinels left are still a majority
 * that may authorize the failover; nothing more to schedule, budget or secure.
 *
 * The password comes from the mounted Secret into generated config files and into the probes'
 * environment, never onto a command line. An optional CronJob copies an RDB snapshot of the primary
 * to object storage.
 */
export class Valkey extends Construct {
  readonly name: string;
  readonly port = PORT;
  readonly sentinelPort = SENTINEL_PORT;
  /** Every port clients and peers use: the server and the sentinel. */
  readonly ports: readonly number[] = [PORT, SENTINEL_PORT];
  readonly masterName: string;
  /** `host:port` of each sentinel, for the hub's REDIS_SENTINELS. */
  readonly sentinels: readonly string[];
  readonly podLabels: Record<string, string>;

  constructor(scope: Construct, id: string, props: ValkeyProps) {
    super(scope, id);
    const name = props.name ?? 'valkey';
    const replicas = props.replicas ?? 3;
    if (replicas < 3)
      throw new Error(`${name}: replicas must be >= 3, one sentinel each for a quorum of 2 (got ${replicas})`);
    const maxMemory = props.maxMemoryMiB ?? 1024;
    const image = props.image ?? 'docker.io/valkey/valkey:8.1.3';
    const passwordSecret = props.passwordSecret ?? 'valkey-auth';
    this.name = name;
    this.masterName = props.masterName ?? 'ringforge';
    const podHost = (i: number) => `${name}-${i}.${name}-headless.${props.namespace}.svc.cluster.local`;
    const hosts = Array.from({ length: replicas }, (_, i) => podHost(i));
    this.sentinels = hosts.map((host) => `${host}:${SENTINEL_PORT}`);
    const quorum = Math.floor(replicas / 2) + 1;

    const scripts = new k8s.KubeConfigMap(this, 'Scripts', {
      metadata: { name: `${name}-scripts`, namespace: props.namespace, labels: appLabels(name, name) },
      data: {
        'configure.sh': CONFIGURE_SH,
        'probe.sh': PROBE_SH,
        'snapshot.sh': SNAPSHOT_SH,
        'upload.sh': UPLOAD_SH,
      },
    });
    const volumes: k8s.Volume[] = [
      {
        name: 'auth',
        secret: { secretName: passwordSecret, items: [{ key: 'password', path: 'password' }], defaultMode: 0o400 },
      },
      { name: 'scripts', configMap: { name: scripts.name, defaultMode: 0o555 } },
      { name: 'config', emptyDir: { sizeLimit: k8s.Quantity.fromString('1Mi') } },
    ];
    const authMount = { name: 'auth', mountPath: VALKEY_PATHS.password.replace(/\/password$/, ''), readOnly: true };
    const scriptsMount = { name: 'scripts', mountPath: VALKEY_PATHS.scripts, readOnly: true };
    const configMount = { name: 'config', mountPath: VALKEY_PATHS.config };
    const dataMount = { name: 'data', mountPath: VALKEY_PATHS.data };
    const probe = (mode: string, timing: Omit<k8s.Probe, 'exec'>): k8s.Probe => ({
      exec: { command: ['sh', `${VALKEY_PATHS.scripts}/probe.sh`, mode] },
      timeoutSeconds: 5,
      ...timing,
    });
    const small = (cpu: number, memory: number) =>
      resources({
        cpuMillis: cpu,
        memoryMiB: memory,
        limitCpuMillis: cpu * 4,
        limitMemoryMiB: memory * 2,
        ephemeralMiB: 16,
      });

    const service = new StatefulService(this, 'Resource', {
      name,
      namespace: props.namespace,
      replicas,
      image,
      command: ['valkey-server', `${VALKEY_PATHS.config}/valkey.conf`],
      ports: [{ name: 'redis', port: PORT }],
      // The client Service reaches any ready sentinel, never a server that may be a replica: clients
      // ask a sentinel for the primary.
      clientPort: { name: 'sentinel', port: SENTINEL_PORT },
      startup: probe('startup', { periodSeconds: 5, failureThreshold: STARTUP_PROBES }),
      readiness: probe('ready', { periodSeconds: 5, failureThreshold: 2 }),
      liveness: probe('live', { periodSeconds: 10, failureThreshold: 6 }),
      cpuMillis: 250,
      memoryMiB: maxMemory + 256,
      limitCpuMillis: 1000,
      limitMemoryMiB: maxMemory + 512,
      storageGiB: props.storageGiB ?? 10,
      storageClass: props.storageClass ?? 'hcloud-volumes',
      uid: UID,
      priorityClassName: props.priorityClassName ?? 'ringforge-critical',
      dataPath: '/data',
      volumes,
      volumeMounts: [authMount, scriptsMount, configMount],
      initContainers: [
        {
          name: 'configure',
          image,
          imagePullPolicy: pullPolicy(image),
          command: ['sh', `${VALKEY_PATHS.scripts}/configure.sh`],
          env: [
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'SELF', value: `$(POD_NAME).${name}-headless.${props.namespace}.svc.cluster.local` },
            { name: 'FIRST', value: podHost(0) },
            { name: 'SENTINELS', value: hosts.join(' ') },
            { name: 'MASTER', value: this.masterName },
            { name: 'QUORUM', value: String(quorum) },
            { name: 'MAXMEMORY_MB', value: String(maxMemory) },
            { name: 'DOWN_AFTER_MS', value: String(DOWN_AFTER_MS) },
          ],
          volumeMounts: [authMount, scriptsMount, configMount, dataMount],
          resources: small(50, 32),
          securityContext: restrictedContainer(UID),
        },
      ],
      sidecars: [
        {
          name: 'sentinel',
          image,
          imagePullPolicy: pullPolicy(image),
          // The sentinel rewrites its config file as it learns the group; on the persistent volume, what
          // it learned (the current primary) survives the pod for configure.sh to start from.
          command: ['valkey-server', `${VALKEY_PATHS.data}/sentinel.conf`, '--sentinel'],
          ports: [{ name: 'sentinel', containerPort: SENTINEL_PORT }],
          readinessProbe: probe('sentinel', { periodSeconds: 5, failureThreshold: 2 }),
          livenessProbe: probe('sentinel', { periodSeconds: 10, failureThreshold: 6 }),
          resources: small(50, 64),
          securityContext: restrictedContainer(UID),
          volumeMounts: [authMount, scriptsMount, dataMount, { name: 'tmp', mountPath: '/tmp' }],
        },
        {
          name: 'metrics',
          image: props.exporterImage ?? 'docker.io/oliver006/redis_exporter:v1.74.0',
          imagePullPolicy: pullPolicy(props.exporterImage ?? 'docker.io/oliver006/redis_exporter:v1.74.0'),
          env: [
            { name: 'REDIS_ADDR', value: `redis://localhost:${PORT}` },
            { name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: passwordSecret, key: 'password' } } },
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

    if (props.snapshots !== undefined) {
      this.snapshotJob(props, { image, hosts, passwordSecret, maxMemory, volumes: volumes.slice(0, 2) });
    }
  }

  /**
   * A CronJob that streams an RDB of the current primary (`valkey-cli --rdb`, which makes the server
   * fork once, as its own persistence does) into a scratch volume, then uploads it with curl. The
   * bucket's lifecycle rules expire old snapshots as they expire old base backups.
   */
  private snapshotJob(
    props: ValkeyProps,
    p: {
      readonly image: string;
      readonly hosts: readonly string[];
      readonly passwordSecret: string;
      readonly maxMemory: number;
      readonly volumes: readonly k8s.Volume[];
    },
  ): void {
    const store = props.snapshots!;
    const uploadImage = props.uploadImage ?? 'docker.io/curlimages/curl:8.11.1';
    const name = `${this.name}-snapshot`;
    const labels = appLabels(name, this.name);
    const podLabels = selectorLabels(name);
    const mounts = [
      { name: 'auth', mountPath: VALKEY_PATHS.password.replace(/\/password$/, ''), readOnly: true },
      { name: 'scripts', mountPath: VALKEY_PATHS.scripts, readOnly: true },
      { name: 'backup', mountPath: VALKEY_PATHS.backup },
      { name: 'tmp', mountPath: '/tmp' },
    ];
    const fromCredentials = (key: string): k8s.EnvVar => ({
      name: key,
      valueFrom: { secretKeyRef: { name: store.credentialsSecret, key } },
    });
    const step = (cpu: number) =>
      resources({ cpuMillis: cpu, memoryMiB: 64, limitCpuMillis: cpu * 4, limitMemoryMiB: 256, ephemeralMiB: 16 });
    new k8s.KubeCronJob(this, 'Snapshot', {
      metadata: {
        name,
        namespace: props.namespace,
        labels,
        annotations: {
          [IGNORE_ANNOTATION]: 'pod-probes',
          [IGNORE_REASON_ANNOTATION]:
            'a run-to-completion job serves nothing to probe; activeDeadlineSeconds ends a snapshot that hangs',
        },
      },
      spec: {
        schedule: store.schedule ?? '17 */6 * * *',
        concurrencyPolicy: 'Forbid',
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels },
          spec: {
            backoffLimit: 2,
            activeDeadlineSeconds: 1800,
            template: {
              metadata: { labels: { ...labels, ...podLabels } },
              spec: {
                restartPolicy: 'OnFailure',
                serviceAccountName: this.name,
                automountServiceAccountToken: false,
                priorityClassName: props.priorityClassName ?? 'ringforge-critical',
                securityContext: restrictedPod(UID),
                volumes: [
                  ...p.volumes,
                  // An RDB is smaller than the data set in memory; twice maxmemory leaves room.
                  { name: 'backup', emptyDir: { sizeLimit: k8s.Quantity.fromString(`${p.maxMemory * 2}Mi`) } },
                  { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
                ],
                initContainers: [
                  {
                    name: 'snapshot',
                    image: p.image,
                    imagePullPolicy: pullPolicy(p.image),
                    command: ['sh', `${VALKEY_PATHS.scripts}/snapshot.sh`],
                    env: [
                      { name: 'SENTINELS', value: p.hosts.join(' ') },
                      { name: 'MASTER', value: this.masterName },
                    ],
                    volumeMounts: mounts,
                    resources: step(100),
                    securityContext: restrictedContainer(UID),
                  },
                ],
                containers: [
                  {
                    name: 'upload',
                    image: uploadImage,
                    imagePullPolicy: pullPolicy(uploadImage),
                    command: ['sh', `${VALKEY_PATHS.scripts}/upload.sh`],
                    env: [
                      fromCredentials('ACCESS_KEY_ID'),
                      fromCredentials('ACCESS_SECRET_KEY'),
                      { name: 'S3_ENDPOINT', value: store.endpointUrl },
                      { name: 'S3_REGION', value: store.s3Region },
                      { name: 'S3_BUCKET', value: store.bucket },
                      { name: 'S3_PREFIX', value: store.folder },
                    ],
                    volumeMounts: mounts,
                    resources: step(100),
                    securityContext: restrictedContainer(UID),
                  },
                ],
              },
            },
          },
        },
      },
    });
    // The job asks a sentinel for the primary and reads the RDB from it, then reaches the object store.
    new AllowTraffic(this, 'SnapshotTraffic', {
      name,
      namespace: props.namespace,
      podLabels,
      egress: [
        { peers: [Peer.pods(this.podLabels)], tcpPorts: [...this.ports] },
        { peers: Peer.anyAddress(), tcpPorts: [443] },
      ],
    });
    new AllowTraffic(this, 'SnapshotAccess', {
      name: `${this.name}-from-snapshot`,
      namespace: props.namespace,
      podLabels: this.podLabels,
      ingress: [{ peers: [Peer.pods(podLabels)], tcpPorts: [...this.ports] }],
    });
  }
}
