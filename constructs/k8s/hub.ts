import { ApiObject, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { DEFAULT_HUB_ADMIN_PORT, HUB_HEALTH_PATHS, hubListenerEnvironment } from '../hub-listeners.ts';
import { HubGateway } from './gateway.ts';
import { HubAutoscaler } from './hub-autoscaler.ts';
import { appLabels, selectorLabels } from './labels.ts';
import { patchAfterSerialization } from './raw-patch.ts';

/** A key of a Secret that something other than git (an operator, a runbook) creates. */
export interface SecretKeyRef {
  readonly name: string;
  readonly key: string;
}

export interface HubWorkloadProps {
  readonly namespace: string;
  /** Image by digest: `repository@sha256:...`. */
  readonly image: string;
  /** Public hostname agents connect to. */
  readonly hostname: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Per-pod `hub_connected_agents` the autoscaler aims for. */
  readonly targetConnectionsPerReplica: number;
  /** Prometheus the autoscaler reads the connection count from. @default CLUSTER_PROMETHEUS_URL */
  readonly prometheusUrl?: string;
  /** Seconds the hub drains on SIGTERM. */
  readonly drainSeconds: number;
  readonly requestsCpuMillis: number;
  readonly requestsMemoryMiB: number;
  readonly limitsCpuMillis: number;
  readonly limitsMemoryMiB: number;
  /** Scratch space the pod may use (logs, /tmp). @default 1 */
  readonly ephemeralStorageRequestGiB?: number;
  /** @default 2 */
  readonly ephemeralStorageLimitGiB?: number;
  /** Resource name of every object. @default 'hub' */
  readonly name?: string;
  /** Public port: the WebSocket and the health routes, the only one the HTTPRoute routes to. @default 8080 */
  readonly port?: number;
  /** Operations port: `/metrics` and the admin API, for Prometheus and `kubectl port-forward`. @default 9090 */
  readonly adminPort?: number;
  /**
   * CIDR ranges of the proxies in front of the hub (the Traefik gateway's pods), whose
   * `X-Forwarded-For` the hub believes for its per-address limits; usually the cluster's pod CIDR.
   */
  readonly trustedProxies: readonly string[];
  /** Path agents open their WebSocket on; the HTTPRoute routes it and the two health paths, nothing else. @default '/ws' */
  readonly websocketPath?: string;
  /**
   * Postgres connection URI. @default - the `uri` key of the `hub-database` Secret: a copy of
   * CloudNativePG's `pg-app`, which lives in the database's namespace (pods read Secrets of their own only)
   */
  readonly databaseUrl?: SecretKeyRef;
  /** The Valkey sentinels (`host:port`) and the primary's name they monitor; the hub asks them where the primary is. */
  readonly redis: { readonly sentinels: readonly string[]; readonly masterName: string };
  /** Valkey's password, mounted as a file (REDIS_PASSWORD_FILE). @default - `password` of the `hub-redis` Secret */
  readonly redisPassword?: SecretKeyRef;
  /** Admin API token. @default - `token` of the `hub-admin` Secret */
  readonly adminToken?: SecretKeyRef;
  /** Secret with the certificate for `hostname`. @default 'hub-tls' */
  readonly tlsSecretName?: string;
  /** Seconds the pod keeps serving after it is removed from endpoints, before SIGTERM. @default 5 */
  readonly preStopSeconds?: number;
  /** Priority class of the pods. @default 'ringforge-critical' */
  readonly priorityClassName?: string;
  /** GatewayClass of the cluster's Gateway API controller. @default TRAEFIK_GATEWAY_CLASS */
  readonly gatewayClassName?: string;
  /** Numeric uid and gid the image runs as. @default 10001 */
  readonly runAsUser?: number;
}

/** Where the Valkey password file is mounted. */
const REDIS_SECRET_DIR = '/run/secrets/redis';

/** Seconds beyond the drain and the preStop pause before the kubelet kills the pod. */
const KILL_MARGIN_SECONDS = 10;

/** Names of the hub's container and Service ports; the ServiceMonitor scrapes `admin`. */
export const HUB_PORT_NAMES = { public: 'http', admin: 'admin' } as const;

/**
 * The RingForge hub: Deployment, Service, Gateway and HTTPRoute, KEDA ScaledObject (its autoscaler),
 * PodDisruptionBudget, ServiceAccount and ConfigMap. The HTTPRoute routes only the WebSocket path and the health routes
 * to the public port; `/metrics` and the admin API live on the operations port, which the Service
 * exposes to the cluster only. Rolling updates never drop below the current replicas
 * (`maxUnavailable: 0`); a terminating pod first leaves the endpoints (preStop pause), then drains
 * its WebSockets within the grace period; replicas spread across nodes; secrets only by reference.
 */
export class HubWorkload extends Construct {
  readonly name: string;
  readonly port: number;
  readonly adminPort: number;
  readonly labels: Record<string, string>;
  readonly deployment: kplus.Deployment;
  readonly service: kplus.Service;

  constructor(scope: Construct, id: string, props: HubWorkloadProps) {
    super(scope, id);
    const name = props.name ?? 'hub';
    const port = props.port ?? 8080;
    const adminPort = props.adminPort ?? DEFAULT_HUB_ADMIN_PORT;
    const websocketPath = props.websocketPath ?? '/ws';
    const preStopSeconds = props.preStopSeconds ?? 5;
    const uid = props.runAsUser ?? 10001;
    const ephemeralRequestGiB = props.ephemeralStorageRequestGiB ?? 1;
    const ephemeralLimitGiB = props.ephemeralStorageLimitGiB ?? 2;
    if (props.minReplicas < 2)
      throw new Error(`minReplicas must be >= 2 for a highly available hub (got ${props.minReplicas})`);
    if (props.maxReplicas < props.minReplicas) {
      throw new Error(`maxReplicas must be >= minReplicas ${props.minReplicas} (got ${props.maxReplicas})`);
    }
    if (!/@sha256:[a-f0-9]{64}$/.test(props.image))
      throw new Error(`image must be pinned by digest (got ${props.image})`);
    if (!/^\/[A-Za-z0-9/_-]+$/.test(websocketPath))
      throw new Error(`websocketPath must be an absolute URL path (got ${websocketPath})`);
    // Only Cloudflare reaches the gateway (it requires Cloudflare's origin-pull certificate), and the
    // gateway sees Cloudflare's edge as the client: Cloudflare's header names the agent.
    const listeners = hubListenerEnvironment({
      port,
      adminPort,
      trustedProxies: props.trustedProxies,
      clientAddressHeader: 'cf-connecting-ip',
    });
    this.name = name;
    this.port = port;
    this.adminPort = adminPort;
    this.labels = appLabels(name, 'hub');
    const metadata = { name, namespace: props.namespace, labels: this.labels };

    const serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata,
      automountToken: false,
    });
    const config = new kplus.ConfigMap(this, 'Config', {
      metadata,
      data: {
        ...listeners,
        HUB_SHUTDOWN_GRACE_MS: String(props.drainSeconds * 1000),
        HUB_DATA_DIR: '/tmp/hub-data',
        REDIS_SENTINELS: props.redis.sentinels.join(','),
        REDIS_SENTINEL_MASTER: props.redis.masterName,
        REDIS_PASSWORD_FILE: `${REDIS_SECRET_DIR}/password`,
      },
    });
    const fromSecret = (ref: SecretKeyRef | undefined, fallback: SecretKeyRef) => {
      const { name: secretName, key } = ref ?? fallback;
      return kplus.EnvValue.fromSecretValue({
        secret: kplus.Secret.fromSecretName(this, `Secret-${secretName}-${key}`, secretName),
        key,
      });
    };
    const fromConfig = (key: string) => kplus.EnvValue.fromConfigMap(config, key);

    this.deployment = new kplus.Deployment(this, 'Resource', {
      metadata,
      select: false,
      podMetadata: { labels: this.labels },
      strategy: kplus.DeploymentStrategy.rollingUpdate({
        maxSurge: kplus.PercentOrAbsolute.absolute(1),
        maxUnavailable: kplus.PercentOrAbsolute.absolute(0),
      }),
      serviceAccount,
      automountServiceAccountToken: false,
      terminationGracePeriod: Duration.seconds(props.drainSeconds + preStopSeconds + KILL_MARGIN_SECONDS),
      securityContext: { ensureNonRoot: true, user: uid, group: uid, fsGroup: uid },
      volumes: [],
      containers: [
        {
          name: 'hub',
          image: props.image,
          imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
          ports: [
            { name: HUB_PORT_NAMES.public, number: port },
            { name: HUB_PORT_NAMES.admin, number: adminPort },
          ],
          envVariables: {
            ...Object.fromEntries(Object.keys(listeners).map((key) => [key, fromConfig(key)])),
            HUB_SHUTDOWN_GRACE_MS: fromConfig('HUB_SHUTDOWN_GRACE_MS'),
            HUB_DATA_DIR: fromConfig('HUB_DATA_DIR'),
            DATABASE_URL: fromSecret(props.databaseUrl, { name: 'hub-database', key: 'uri' }),
            REDIS_SENTINELS: fromConfig('REDIS_SENTINELS'),
            REDIS_SENTINEL_MASTER: fromConfig('REDIS_SENTINEL_MASTER'),
            REDIS_PASSWORD_FILE: fromConfig('REDIS_PASSWORD_FILE'),
            HUB_ADMIN_TOKEN: fromSecret(props.adminToken, { name: 'hub-admin', key: 'token' }),
          },
          liveness: kplus.Probe.fromHttpGet('/api/health', {
            port,
            periodSeconds: Duration.seconds(10),
            timeoutSeconds: Duration.seconds(2),
            failureThreshold: 3,
          }),
          readiness: kplus.Probe.fromHttpGet('/api/ready', {
            port,
            periodSeconds: Duration.seconds(5),
            timeoutSeconds: Duration.seconds(2),
            failureThreshold: 2,
          }),
          startup: kplus.Probe.fromHttpGet('/api/health', {
            port,
            periodSeconds: Duration.seconds(2),
            failureThreshold: 30,
          }),
          resources: {
            cpu: { request: kplus.Cpu.millis(props.requestsCpuMillis), limit: kplus.Cpu.millis(props.limitsCpuMillis) },
            memory: {
              request: sizeMiB(props.requestsMemoryMiB),
              limit: sizeMiB(props.limitsMemoryMiB),
            },
            ephemeralStorage: {
              request: Size.gibibytes(ephemeralRequestGiB),
              limit: Size.gibibytes(ephemeralLimitGiB),
            },
          },
          securityContext: {
            ensureNonRoot: true,
            user: uid,
            group: uid,
            privileged: false,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: [kplus.Capability.ALL] },
            seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
          },
        },
      ],
    });
    this.deployment.select(kplus.LabelSelector.of({ labels: selectorLabels(name) }));
    const tmp = kplus.Volume.fromEmptyDir(this, 'Tmp', 'tmp', { sizeLimit: Size.gibibytes(ephemeralRequestGiB) });
    this.deployment.containers[0]!.mount('/tmp', tmp);
    // A file, not an environment variable: the hub reads it once, and no listing of the pod shows it.
    const redisPassword = props.redisPassword ?? { name: 'hub-redis', key: 'password' };
    const redisAuth = kplus.Volume.fromSecret(
      this,
      'RedisPassword',
      kplus.Secret.fromSecretName(this, 'RedisSecret', redisPassword.name),
      { name: 'redis-auth', items: { [redisPassword.key]: { path: 'password' } }, defaultMode: 0o440 },
    );
    this.deployment.containers[0]!.mount(REDIS_SECRET_DIR, redisAuth, { readOnly: true });

    // What cdk8s-plus-28 does not model: the replica count belongs to the HPA, so the Deployment
    // omits it; the preStop `sleep` action (Kubernetes >= 1.30) needs no shell in the image.
    const pod = '/spec/template/spec';
    patchAfterSerialization(
      ApiObject.of(this.deployment),
      JsonPatch.remove('/spec/replicas'),
      JsonPatch.add(`${pod}/priorityClassName`, props.priorityClassName ?? 'ringforge-critical'),
      JsonPatch.add(`${pod}/containers/0/lifecycle`, { preStop: { sleep: { seconds: preStopSeconds } } }),
      // Honor taints: a cordoned node (tainted unschedulable) then stops counting as a spread domain.
      // Ignoring them, a drain leaves the evicted hubs Pending, because the empty cordoned node
      // makes every other node's extra replica exceed the skew.
      JsonPatch.add(`${pod}/topologySpreadConstraints`, [
        {
          maxSkew: 1,
          nodeTaintsPolicy: 'Honor',
          topologyKey: 'kubernetes.io/hostname',
          whenUnsatisfiable: 'DoNotSchedule',
          labelSelector: { matchLabels: this.deployment.matchLabels },
          matchLabelKeys: ['pod-template-hash'],
        },
      ]),
    );

    this.service = new kplus.Service(this, 'Service', {
      metadata,
      type: kplus.ServiceType.CLUSTER_IP,
      ports: [
        { name: HUB_PORT_NAMES.public, port, targetPort: port },
        { name: HUB_PORT_NAMES.admin, port: adminPort, targetPort: adminPort },
      ],
    });
    for (const [key, value] of Object.entries(selectorLabels(name))) this.service.selectLabel(key, value);

    // Exact paths, no catch-all: anything else gets the gateway's 404, never the hub.
    new HubGateway(this, 'Gateway', {
      namespace: props.namespace,
      name,
      labels: this.labels,
      hostname: props.hostname,
      tlsSecretName: props.tlsSecretName ?? 'hub-tls',
      serviceName: name,
      servicePort: port,
      paths: [websocketPath, ...HUB_HEALTH_PATHS],
      gatewayClassName: props.gatewayClassName,
    });

    new HubAutoscaler(this, 'Autoscaler', {
      namespace: props.namespace,
      deploymentName: name,
      labels: this.labels,
      minReplicas: props.minReplicas,
      maxReplicas: props.maxReplicas,
      targetConnectionsPerReplica: props.targetConnectionsPerReplica,
      prometheusUrl: props.prometheusUrl,
    });

    new kplus.k8s.KubePodDisruptionBudget(this, 'Disruption', {
      metadata,
      // One pod at a time: the others carry its reconnecting agents.
      spec: {
        maxUnavailable: kplus.k8s.IntOrString.fromNumber(1),
        selector: { matchLabels: this.deployment.matchLabels },
      },
    });
  }
}

const sizeMiB = (mib: number) => (mib % 1024 === 0 ? Size.gibibytes(mib / 1024) : Size.mebibytes(mib));
