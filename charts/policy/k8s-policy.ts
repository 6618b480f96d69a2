/*
 * The policy checklist of shared/POLICY.md over synthesized Kubernetes objects, in the spirit of
 * kube-score, Polaris and the Pod Security `restricted` profile. Pure functions over parsed manifests:
 * the input is every object one cluster receives, because several rules relate objects to each other
 * (a PDB or NetworkPolicy for every pod, an HPA's target, a Service's pods).
 *
 * An exemption is explicit and visible: the annotation `kube-score/ignore: <rule>[,<rule>]` on the
 * object, with a non-empty `ringforge/ignore-reason` annotation beside it.
 */

import { RESOURCES_FINALIZER } from '../../constructs/k8s/argocd.ts';
import { checkGateway, checkHttpRoute } from './gateway-policy.ts';
import { KEEP_DATA_SYNC_OPTIONS, ownsVolumes, SYNC_OPTIONS_ANNOTATION } from '../../constructs/k8s/data-protection.ts';

export interface K8sObject {
  readonly apiVersion?: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
  };
  readonly [key: string]: unknown;
}

export interface PolicyViolation {
  /** Rule id as kube-score, Polaris or Checkov name it (see shared/POLICY.md), or `exemption-without-reason`. */
  readonly rule: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly message: string;
}

export const IGNORE_ANNOTATION = 'kube-score/ignore';
export const IGNORE_REASON_ANNOTATION = 'ringforge/ignore-reason';

/** Every rule id this checklist enforces, in POLICY.md order (rows 1-26), then the project's own. */
export const RULES = [
  'runAsRootAllowed',
  'container-security-context-user-group-id',
  'privilegeEscalationAllowed',
  'container-security-context-privileged',
  'container-security-context-readonlyrootfilesystem',
  'dangerousCapabilities',
  'linuxHardening',
  'hostNetworkSet',
  'hostPortSet',
  'hostPathSet',
  'container-resources',
  'container-ephemeral-storage-request-and-limit',
  'pod-probes',
  'container-image-tag',
  'container-image-pull-policy',
  'automountServiceAccountToken',
  'CKV_K8S_21',
  'sensitiveContainerEnvVar',
  'deployment-has-poddisruptionbudget',
  'deployment-has-host-podantiaffinity',
  'horizontalpodautoscaler-has-target',
  'pod-networkpolicy',
  'networkpolicy-targets-pod',
  'service-targets-pod',
  'service-type',
  'ingress-targets-service',
  'tlsSettingsMissing',
  'deployment-pod-selector-labels-match-template-metadata-labels',
  'statefulset-has-servicename',
  'priorityClassNotSet',
  // Beyond POLICY.md: data that GitOps cannot delete (issue 14).
  'data-prune-guard',
  'data-application-cascade',
  // Beyond POLICY.md: the Gateway API's row 24, and an origin only Cloudflare reaches (issue 13).
  'httproute-targets-gateway',
  'public-route-private-path',
  'origin-client-certificate',
] as const;
export type Rule = (typeof RULES)[number];

/*
 * Views of the fields the rules read. Manifests are untyped JSON, so every field is optional and a
 * rule treats a missing one as not set.
 */
type Labels = Record<string, string>;
interface Selector {
  readonly matchLabels?: Labels;
}
interface SecurityContext {
  readonly runAsNonRoot?: boolean;
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly allowPrivilegeEscalation?: boolean;
  readonly privileged?: boolean;
  readonly readOnlyRootFilesystem?: boolean;
  readonly capabilities?: { readonly add?: string[]; readonly drop?: string[] };
  readonly seccompProfile?: { readonly type?: string };
}
interface PodSpec {
  readonly hostNetwork?: boolean;
  readonly hostPID?: boolean;
  readonly hostIPC?: boolean;
  readonly volumes?: ({ readonly name: string } & Record<string, unknown>)[];
  readonly priorityClassName?: string;
  readonly serviceAccountName?: string;
  readonly automountServiceAccountToken?: boolean;
  readonly securityContext?: SecurityContext;
  readonly initContainers?: Container[];
  readonly containers?: Container[];
  readonly affinity?: { readonly podAntiAffinity?: unknown };
  readonly topologySpreadConstraints?: unknown[];
}
interface PodTemplate {
  readonly metadata?: { readonly labels?: Labels };
  readonly spec?: PodSpec;
}
interface WorkloadSpec {
  readonly replicas?: number;
  readonly selector?: Selector;
  readonly serviceName?: string;
  readonly template?: PodTemplate;
  readonly jobTemplate?: { readonly spec?: { readonly template?: PodTemplate } };
}
interface HpaSpec {
  readonly scaleTargetRef?: { readonly kind?: string; readonly name?: string };
  readonly minReplicas?: number;
  /** A KEDA ScaledObject's name for it; KEDA creates the HPA from the ScaledObject. */
  readonly minReplicaCount?: number;
}

/** HorizontalPodAutoscalers, and KEDA ScaledObjects, which stand for the HPA KEDA creates from them. */
const AUTOSCALER_KINDS = ['HorizontalPodAutoscaler', 'ScaledObject'];

/** The minimum replicas an autoscaler keeps; a ScaledObject's target kind defaults to Deployment. */
const autoscalerMinimum = (o: K8sObject): number => {
  const s = specOf<HpaSpec>(o);
  return (o.kind === 'ScaledObject' ? s.minReplicaCount : s.minReplicas) ?? 1;
};
const autoscalerTarget = (o: K8sObject): { kind?: string; name?: string } => {
  const ref = specOf<HpaSpec>(o).scaleTargetRef ?? {};
  return o.kind === 'ScaledObject' ? { kind: ref.kind ?? 'Deployment', name: ref.name } : ref;
};
interface PdbSpec {
  readonly selector?: Selector;
  readonly minAvailable?: number | string;
  readonly maxUnavailable?: number | string;
}
interface ServiceSpec {
  readonly type?: string;
  readonly clusterIP?: string;
  readonly externalIPs?: string[];
  readonly selector?: Labels;
}
interface IngressBackend {
  readonly service?: { readonly name?: string };
}
interface IngressSpec {
  readonly defaultBackend?: IngressBackend;
  readonly rules?: {
    readonly host?: string;
    readonly http?: { readonly paths?: { readonly backend?: IngressBackend }[] };
  }[];
  readonly tls?: { readonly hosts?: string[]; readonly secretName?: string }[];
}
interface NetworkPolicySpec {
  readonly podSelector?: Selector;
}
interface DataObject {
  readonly data?: Record<string, unknown>;
  readonly stringData?: Record<string, unknown>;
}

const specOf = <T>(o: K8sObject): T => (o.spec ?? {}) as T;

interface Container {
  readonly name: string;
  readonly image?: string;
  readonly imagePullPolicy?: string;
  readonly securityContext?: SecurityContext;
  readonly resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
  readonly readinessProbe?: unknown;
  readonly livenessProbe?: unknown;
  readonly ports?: { hostPort?: number }[];
  readonly env?: { name: string; value?: string; valueFrom?: unknown }[];
}

/** A pod as some object will create it: its template, namespace and labels. */
interface PodSource {
  readonly owner: K8sObject;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  /** Further label sets of individual pods (StatefulSet pod names). */
  readonly podLabels: readonly Record<string, string>[];
  readonly spec?: PodSpec;
}

const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod'];
const ALLOWED_VOLUMES = [
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
];
const SENSITIVE_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL|DATABASE_URL|REDIS_URL|_DSN$)/i;
/** `REDIS_PASSWORD_FILE` and the like hold the path of a mounted Secret file, which is the safe way. */
const looksSensitive = (name: string) => SENSITIVE_NAME.test(name) && !/_FILE$/i.test(name);
const MIN_ID = 10000;

const ns = (o: K8sObject) => o.metadata.namespace ?? '';

function podTemplate(o: K8sObject): { labels: Labels; spec?: PodSpec } | undefined {
  const s = specOf<WorkloadSpec>(o);
  if (o.kind === 'Pod') return { labels: o.metadata.labels ?? {}, spec: specOf<PodSpec>(o) };
  if (o.kind === 'CronJob') {
    const t = s.jobTemplate?.spec?.template;
    return { labels: t?.metadata?.labels ?? {}, spec: t?.spec };
  }
  if (WORKLOAD_KINDS.includes(o.kind)) return { labels: s.template?.metadata?.labels ?? {}, spec: s.template?.spec };
  return undefined;
}

/** Pods the objects create, including those an operator creates for a custom resource. */
function podSources(objects: readonly K8sObject[]): PodSource[] {
  return objects.flatMap((o): PodSource[] => {
    const t = podTemplate(o);
    if (t) {
      const replicas = o.kind === 'StatefulSet' ? (specOf<WorkloadSpec>(o).replicas ?? 1) : 0;
      const podLabels = Array.from({ length: replicas }, (_, i) => ({
        ...t.labels,
        'statefulset.kubernetes.io/pod-name': `${o.metadata.name}-${i}`,
      }));
      return [{ owner: o, namespace: ns(o), labels: t.labels, podLabels, spec: t.spec }];
    }
    // CloudNativePG labels every instance pod of a Cluster with `cnpg.io/cluster: <name>`.
    if (o.kind === 'Cluster' && o.apiVersion?.startsWith('postgresql.cnpg.io/')) {
      return [{ owner: o, namespace: ns(o), labels: { 'cnpg.io/cluster': o.metadata.name }, podLabels: [] }];
    }
    return [];
  });
}

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
const selects = (selector: Record<string, string> | undefined, pod: PodSource) =>
  [pod.labels, ...pod.podLabels].some((l) => matches(selector, l));

function containersOf(spec: PodSpec): Container[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
}

type Report = (rule: Rule, o: K8sObject, message: string) => void;

function checkPodSecurity(pod: PodSource, report: Report): void {
  const o = pod.owner;
  const spec: PodSpec = pod.spec ?? {};
  const podCtx: SecurityContext = spec.securityContext ?? {};
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) {
    report('hostNetworkSet', o, 'hostNetwork, hostPID and hostIPC must be off');
  }
  for (const v of spec.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (!type || !ALLOWED_VOLUMES.includes(type)) report('hostPathSet', o, `volume ${v.name} has type ${type}`);
  }
  if (!spec.priorityClassName) report('priorityClassNotSet', o, 'pods have no priorityClassName');
  if (!spec.serviceAccountName || spec.serviceAccountName === 'default') {
    report('automountServiceAccountToken', o, 'pods must run as a dedicated ServiceAccount');
  }
  if (spec.automountServiceAccountToken !== false) {
    report('automountServiceAccountToken', o, 'automountServiceAccountToken must be false');
  }
  const seccompPod = podCtx.seccompProfile?.type;
  for (const c of containersOf(spec)) {
    const ctx: SecurityContext = c.securityContext ?? {};
    const at = `container ${c.name}`;
    if ((ctx.runAsNonRoot ?? podCtx.runAsNonRoot) !== true)
      report('runAsRootAllowed', o, `${at}: runAsNonRoot is not true`);
    const uid = ctx.runAsUser ?? podCtx.runAsUser;
    const gid = ctx.runAsGroup ?? podCtx.runAsGroup;
    if (uid === undefined || gid === undefined || uid < MIN_ID || gid < MIN_ID) {
      report(
        'container-security-context-user-group-id',
        o,
        `${at}: runAsUser/runAsGroup must be >= ${MIN_ID} (got ${uid}/${gid})`,
      );
    }
    if (ctx.allowPrivilegeEscalation !== false) {
      report('privilegeEscalationAllowed', o, `${at}: allowPrivilegeEscalation is not false`);
    }
    if (ctx.privileged !== false)
      report('container-security-context-privileged', o, `${at}: privileged is not set to false`);
    if (ctx.readOnlyRootFilesystem !== true) {
      report('container-security-context-readonlyrootfilesystem', o, `${at}: readOnlyRootFilesystem is not true`);
    }
    const drop = ctx.capabilities?.drop ?? [];
    const add = ctx.capabilities?.add ?? [];
    if (!drop.includes('ALL') || add.some((cap) => cap !== 'NET_BIND_SERVICE')) {
      report('dangerousCapabilities', o, `${at}: capabilities must drop ALL and add at most NET_BIND_SERVICE`);
    }
    if ((ctx.seccompProfile?.type ?? seccompPod) !== 'RuntimeDefault') {
      report('linuxHardening', o, `${at}: seccompProfile is not RuntimeDefault`);
    }
    if ((c.ports ?? []).some((p) => p.hostPort !== undefined)) report('hostPortSet', o, `${at}: uses a hostPort`);
    const { requests = {}, limits = {} } = c.resources ?? {};
    for (const r of ['cpu', 'memory']) {
      if (!(r in requests) || !(r in limits))
        report('container-resources', o, `${at}: ${r} request and limit required`);
    }
    if (!('ephemeral-storage' in requests) || !('ephemeral-storage' in limits)) {
      report('container-ephemeral-storage-request-and-limit', o, `${at}: ephemeral-storage request and limit required`);
    }
    const isInit = (spec.initContainers ?? []).includes(c);
    if (!isInit && (!c.readinessProbe || !c.livenessProbe)) {
      report('pod-probes', o, `${at}: readiness and liveness probes required`);
    }
    const image = c.image ?? '';
    const digest = image.includes('@sha256:');
    const tag = /:([^/:@]+)$/.exec(image.split('@')[0]!)?.[1];
    if (!digest && (!tag || tag === 'latest')) report('container-image-tag', o, `${at}: image ${image} is not pinned`);
    if (!digest && c.imagePullPolicy !== 'Always') {
      report('container-image-pull-policy', o, `${at}: an image without digest needs imagePullPolicy Always`);
    }
    for (const e of c.env ?? []) {
      if (e.value !== undefined && looksSensitive(e.name)) {
        report('sensitiveContainerEnvVar', o, `${at}: ${e.name} has a literal value; use a secretKeyRef`);
      }
    }
  }
}

function checkWorkloadAvailability(pod: PodSource, objects: readonly K8sObject[], report: Report): void {
  const o = pod.owner;
  if (!['Deployment', 'StatefulSet'].includes(o.kind)) return;
  const s = specOf<WorkloadSpec>(o);
  const same = (k: K8sObject) => ns(k) === pod.namespace;
  const hpa = objects.find(
    (h) => AUTOSCALER_KINDS.includes(h.kind) && same(h) && autoscalerTarget(h).name === o.metadata.name,
  );
  const replicas = s.replicas ?? (hpa ? autoscalerMinimum(hpa) : 1);
  const pdbs = objects.filter(
    (p) => p.kind === 'PodDisruptionBudget' && same(p) && selects(specOf<PdbSpec>(p).selector?.matchLabels, pod),
  );
  if (pdbs.length === 0) report('deployment-has-poddisruptionbudget', o, 'no PodDisruptionBudget selects its pods');
  for (const p of pdbs) {
    const { maxUnavailable, minAvailable } = specOf<PdbSpec>(p);
    const zero =
      maxUnavailable !== undefined
        ? maxUnavailable === 0 || maxUnavailable === '0%'
        : typeof minAvailable === 'number'
          ? minAvailable >= replicas
          : minAvailable === '100%';
    if (zero) report('deployment-has-poddisruptionbudget', p, `allows no disruption of ${o.kind} ${o.metadata.name}`);
  }
  const affinity = s.template?.spec?.affinity?.podAntiAffinity;
  const spread = s.template?.spec?.topologySpreadConstraints ?? [];
  if (replicas < 2 || (!affinity && spread.length === 0)) {
    report(
      'deployment-has-host-podantiaffinity',
      o,
      `needs >= 2 replicas (got ${replicas}) and anti-affinity or topology spread`,
    );
  }
  const selector = s.selector?.matchLabels;
  if (!selector || Object.keys(selector).length === 0 || !matches(selector, pod.labels)) {
    report(
      'deployment-pod-selector-labels-match-template-metadata-labels',
      o,
      'selector does not match the pod template labels',
    );
  }
  if (o.kind === 'StatefulSet') {
    const headless = objects.find(
      (svc) =>
        svc.kind === 'Service' &&
        same(svc) &&
        svc.metadata.name === s.serviceName &&
        specOf<ServiceSpec>(svc).clusterIP === 'None',
    );
    if (!headless) {
      report('statefulset-has-servicename', o, `serviceName ${s.serviceName} is not a headless Service here`);
    }
  }
}

function checkHpa(o: K8sObject, objects: readonly K8sObject[], pods: readonly PodSource[], report: Report): void {
  const ref = autoscalerTarget(o);
  const target = objects.find((t) => t.kind === ref.kind && t.metadata.name === ref.name && ns(t) === ns(o));
  if (!target) {
    report('horizontalpodautoscaler-has-target', o, `target ${ref.kind}/${ref.name} does not exist`);
    return;
  }
  if (specOf<WorkloadSpec>(target).replicas !== undefined) {
    report('horizontalpodautoscaler-has-target', target, 'sets spec.replicas although an HPA owns them');
  }
  const pod = pods.find((p) => p.owner === target);
  const minReplicas = autoscalerMinimum(o);
  for (const pdb of objects.filter((p) => p.kind === 'PodDisruptionBudget' && ns(p) === ns(o))) {
    const { minAvailable, selector } = specOf<PdbSpec>(pdb);
    if (pod && selects(selector?.matchLabels, pod) && typeof minAvailable === 'number' && minAvailable > minReplicas) {
      report(
        'horizontalpodautoscaler-has-target',
        pdb,
        `minAvailable ${minAvailable} exceeds the HPA's minReplicas ${minReplicas}`,
      );
    }
  }
}

function checkIngress(o: K8sObject, objects: readonly K8sObject[], report: Report): void {
  const s = specOf<IngressSpec>(o);
  const rules = s.rules ?? [];
  const backends = [
    ...(s.defaultBackend ? [s.defaultBackend] : []),
    ...rules.flatMap((r) => (r.http?.paths ?? []).map((p) => p.backend)),
  ];
  for (const b of backends) {
    const name = b?.service?.name;
    if (!objects.some((x) => x.kind === 'Service' && x.metadata.name === name && ns(x) === ns(o))) {
      report('ingress-targets-service', o, `backend Service ${name} does not exist`);
    }
  }
  const tlsHosts = (s.tls ?? []).flatMap((t) => (t.secretName ? (t.hosts ?? []) : []));
  const hosts = rules.map((r) => r.host);
  if (hosts.length === 0 || hosts.some((h) => h === undefined || !tlsHosts.includes(h))) {
    report('tlsSettingsMissing', o, 'every host needs TLS with a certificate Secret');
  }
}

function checkRelations(objects: readonly K8sObject[], pods: readonly PodSource[], report: Report): void {
  const inNs = (namespace: string) => pods.filter((p) => p.namespace === namespace);
  for (const o of objects) {
    if (AUTOSCALER_KINDS.includes(o.kind)) checkHpa(o, objects, pods, report);
    if (o.kind === 'Ingress') checkIngress(o, objects, report);
    if (o.kind === 'HTTPRoute') checkHttpRoute(o, objects, report);
    if (o.kind === 'Gateway') checkGateway(o, objects, report);
    if (o.kind === 'NetworkPolicy') {
      const selector = specOf<NetworkPolicySpec>(o).podSelector?.matchLabels ?? {};
      if (!inNs(ns(o)).some((p) => selects(selector, p))) report('networkpolicy-targets-pod', o, 'selects no pod');
    }
    if (o.kind === 'Service') {
      const s = specOf<ServiceSpec>(o);
      if (s.type === 'NodePort' || (s.externalIPs ?? []).length > 0) {
        report('service-type', o, 'NodePort services and externalIPs are not allowed');
      }
      if (s.selector && !inNs(ns(o)).some((p) => selects(s.selector, p))) {
        report('service-targets-pod', o, 'selects no pod');
      }
    }
    const { data, stringData } = o as DataObject;
    if (o.kind === 'ConfigMap') {
      for (const key of Object.keys(data ?? {})) {
        if (looksSensitive(key)) {
          report('sensitiveContainerEnvVar', o, `key ${key} looks like a secret; reference a Secret`);
        }
      }
    }
    if (o.kind === 'Secret' && (data || stringData)) {
      report('sensitiveContainerEnvVar', o, 'Secret values must not be in git; a runbook creates them');
    }
    const namespaced = o.metadata.namespace !== undefined || WORKLOAD_KINDS.includes(o.kind);
    if (namespaced && (o.metadata.namespace ?? 'default') === 'default') {
      report('CKV_K8S_21', o, 'must not use the default namespace');
    }
  }
  for (const pod of pods) {
    const policies = objects.filter((p) => p.kind === 'NetworkPolicy' && ns(p) === pod.namespace);
    if (!policies.some((p) => selects(specOf<NetworkPolicySpec>(p).podSelector?.matchLabels ?? {}, pod))) {
      report('pod-networkpolicy', pod.owner, 'no NetworkPolicy selects its pods');
    }
  }
}

/** Helm charts that install the CRD of a volume-owning kind (by API group): deleting the CRD deletes the data. */
const CHARTS_WITH_DATA_CRDS: Record<string, string> = { 'cloudnative-pg': 'postgresql.cnpg.io' };

interface ApplicationView {
  readonly metadata: { readonly finalizers?: string[] };
  readonly spec?: {
    readonly source?: { readonly chart?: string };
    readonly destination?: { readonly namespace?: string };
    readonly syncPolicy?: { readonly automated?: { readonly prune?: boolean } };
  };
}

/**
 * A bad render or a deleted Application must not delete data: every object that owns volumes keeps
 * `Prune=false,Delete=false`, and an Application syncing into a namespace that holds one, or
 * installing the CRD of one, neither prunes nor carries the finalizer that cascades its deletion.
 */
function checkDataProtection(objects: readonly K8sObject[], report: Report): void {
  const owners = objects.filter((o) => ownsVolumes(o as Parameters<typeof ownsVolumes>[0]));
  for (const o of owners) {
    const options = (o.metadata.annotations?.[SYNC_OPTIONS_ANNOTATION] ?? '').split(',').map((x) => x.trim());
    if (!options.includes('Prune=false') || !options.includes('Delete=false')) {
      report('data-prune-guard', o, `owns volumes: needs ${SYNC_OPTIONS_ANNOTATION}: ${KEEP_DATA_SYNC_OPTIONS}`);
    }
  }
  const dataNamespaces = new Set(owners.map(ns));
  const dataApiGroups = new Set(owners.map((o) => o.apiVersion?.split('/')[0] ?? ''));
  for (const o of objects.filter((x) => x.kind === 'Application')) {
    const app = o as unknown as ApplicationView;
    const target = app.spec?.destination?.namespace ?? '';
    const chart = app.spec?.source?.chart ?? '';
    const why = dataNamespaces.has(target)
      ? `syncs data into ${target}`
      : Object.entries(CHARTS_WITH_DATA_CRDS).some(([c, group]) => c === chart && dataApiGroups.has(group))
        ? `its chart ${chart} installs the CRD of the data it holds`
        : undefined;
    if (!why) continue;
    if ((app.metadata.finalizers ?? []).includes(RESOURCES_FINALIZER)) {
      report('data-application-cascade', o, `${why}: no ${RESOURCES_FINALIZER}`);
    }
    if (app.spec?.syncPolicy?.automated?.prune === true) {
      report('data-application-cascade', o, `${why}: automated sync must not prune`);
    }
  }
}

/** Every violation of the checklist by these objects (all objects one cluster receives). */
export function checkK8sPolicy(objects: readonly K8sObject[]): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  const report: Report = (rule, o, message) => {
    const ignored = (o.metadata.annotations?.[IGNORE_ANNOTATION] ?? '').split(',').map((r) => r.trim());
    if (ignored.includes(rule) && (o.metadata.annotations?.[IGNORE_REASON_ANNOTATION] ?? '').trim()) return;
    violations.push({ rule, kind: o.kind, namespace: ns(o), name: o.metadata.name, message });
  };
  for (const o of objects) {
    if (o.metadata.annotations?.[IGNORE_ANNOTATION] && !o.metadata.annotations?.[IGNORE_REASON_ANNOTATION]?.trim()) {
      violations.push({
        rule: 'exemption-without-reason',
        kind: o.kind,
        namespace: ns(o),
        name: o.metadata.name,
        message: `${IGNORE_ANNOTATION} needs a ${IGNORE_REASON_ANNOTATION} annotation`,
      });
    }
  }
  const pods = podSources(objects);
  for (const pod of pods.filter((p) => p.spec)) {
    checkPodSecurity(pod, report);
    checkWorkloadAvailability(pod, objects, report);
  }
  checkRelations(objects, pods, report);
  checkDataProtection(objects, report);
  return violations;
}
