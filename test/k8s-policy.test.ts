import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkK8sPolicy, IGNORE_ANNOTATION, IGNORE_REASON_ANNOTATION, RULES } from '../charts/policy/k8s-policy.ts';
import { compliantCluster } from './fixtures/k8s/cluster.ts';

const find = (objects: any[], kind: string, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name);
const web = (objects: any[]) => find(objects, 'Deployment', 'web');
const webContainer = (objects: any[]) => web(objects).spec.template.spec.containers[0];
const webPod = (objects: any[]) => web(objects).spec.template.spec;

/** One way to break each rule, applied to an otherwise compliant cluster. */
const VIOLATIONS: Record<(typeof RULES)[number], (objects: any[]) => void> = {
  runAsRootAllowed: (o) => {
    webContainer(o).securityContext.runAsNonRoot = false;
  },
  'container-security-context-user-group-id': (o) => {
    webContainer(o).securityContext.runAsUser = 1000;
  },
  privilegeEscalationAllowed: (o) => {
    delete webContainer(o).securityContext.allowPrivilegeEscalation;
  },
  'container-security-context-privileged': (o) => {
    delete webContainer(o).securityContext.privileged;
  },
  'container-security-context-readonlyrootfilesystem': (o) => {
    webContainer(o).securityContext.readOnlyRootFilesystem = false;
  },
  dangerousCapabilities: (o) => {
    webContainer(o).securityContext.capabilities.add = ['NET_ADMIN'];
  },
  linuxHardening: (o) => {
    webContainer(o).securityContext.seccompProfile = { type: 'Unconfined' };
  },
  hostNetworkSet: (o) => {
    webPod(o).hostPID = true;
  },
  hostPortSet: (o) => {
    webContainer(o).ports[0].hostPort = 8080;
  },
  hostPathSet: (o) => {
    webPod(o).volumes.push({ name: 'docker', hostPath: { path: '/var/run/docker.sock' } });
  },
  'container-resources': (o) => {
    delete webContainer(o).resources.limits.memory;
  },
  'container-ephemeral-storage-request-and-limit': (o) => {
    delete webContainer(o).resources.requests['ephemeral-storage'];
  },
  'pod-probes': (o) => {
    delete webContainer(o).readinessProbe;
  },
  'container-image-tag': (o) => {
    Object.assign(webContainer(o), { image: 'registry.example/web:latest', imagePullPolicy: 'Always' });
  },
  'container-image-pull-policy': (o) => {
    Object.assign(webContainer(o), { image: 'registry.example/web:1.2.3', imagePullPolicy: 'IfNotPresent' });
  },
  automountServiceAccountToken: (o) => {
    delete webPod(o).automountServiceAccountToken;
  },
  CKV_K8S_21: (o) => {
    find(o, 'ConfigMap', 'web').metadata.namespace = 'default';
  },
  sensitiveContainerEnvVar: (o) => {
    webContainer(o).env.push({ name: 'DB_PASSWORD', value: 'hunter2hunter2' });
  },
  'deployment-has-poddisruptionbudget': (o) => {
    o.splice(o.indexOf(find(o, 'PodDisruptionBudget', 'web')), 1);
  },
  'deployment-has-host-podantiaffinity': (o) => {
    delete webPod(o).topologySpreadConstraints;
  },
  'horizontalpodautoscaler-has-target': (o) => {
    web(o).spec.replicas = 3;
  },
  'pod-networkpolicy': (o) => {
    o.splice(o.indexOf(find(o, 'NetworkPolicy', 'default-deny')), 1);
  },
  'networkpolicy-targets-pod': (o) => {
    find(o, 'NetworkPolicy', 'db').spec.podSelector.matchLabels = { 'app.kubernetes.io/name': 'gone' };
  },
  'service-targets-pod': (o) => {
    find(o, 'Service', 'web').spec.selector = { 'app.kubernetes.io/name': 'wbe' };
  },
  'service-type': (o) => {
    find(o, 'Service', 'web').spec.type = 'NodePort';
  },
  'ingress-targets-service': (o) => {
    find(o, 'Ingress', 'web').spec.rules[0].http.paths[0].backend.service.name = 'missing';
  },
  tlsSettingsMissing: (o) => {
    delete find(o, 'Ingress', 'web').spec.tls;
  },
  'deployment-pod-selector-labels-match-template-metadata-labels': (o) => {
    web(o).spec.selector.matchLabels = { 'app.kubernetes.io/name': 'other' };
  },
  'statefulset-has-servicename': (o) => {
    find(o, 'StatefulSet', 'db').spec.serviceName = 'db';
  },
  priorityClassNotSet: (o) => {
    delete webPod(o).priorityClassName;
  },
  'data-prune-guard': (o) => {
    find(o, 'StatefulSet', 'db').metadata.annotations['argocd.argoproj.io/sync-options'] = 'Prune=false';
  },
  'data-application-cascade': (o) => {
    find(o, 'Application', 'app').metadata.finalizers = ['resources-finalizer.argocd.argoproj.io'];
  },
  'httproute-targets-gateway': (o) => {
    find(o, 'HTTPRoute', 'web').spec.parentRefs[0].name = 'missing';
  },
  'public-route-private-path': (o) => {
    find(o, 'HTTPRoute', 'web').spec.rules[0].backendRefs[0].port = 9090;
  },
  'origin-client-certificate': (o) => {
    find(o, 'TLSOption', 'default').spec.clientAuth.clientAuthType = 'VerifyClientCertIfGiven';
  },
};

describe('Kubernetes policy checklist', () => {
  test('the compliant fixture passes every rule', () => {
    assert.deepEqual(checkK8sPolicy(compliantCluster()), []);
  });

  test('covers every row of POLICY.md (26 rows, 30 rule ids), the 2 data-protection and the 3 origin rules', () => {
    assert.equal(RULES.length, 35);
    assert.deepEqual(Object.keys(VIOLATIONS).sort(), [...RULES].sort());
  });

  for (const [rule, breakIt] of Object.entries(VIOLATIONS)) {
    test(`rejects a cluster that breaks ${rule}`, () => {
      // given
      const objects = compliantCluster();
      breakIt(objects);
      // when
      const rules = checkK8sPolicy(objects).map((v) => v.rule);
      // then
      assert.ok(rules.includes(rule), `expected ${rule}, got ${JSON.stringify(rules)}`);
    });
  }

  test('a PDB that allows no disruption fails', () => {
    const objects = compliantCluster();
    find(objects, 'PodDisruptionBudget', 'db').spec.minAvailable = 2;
    const found = checkK8sPolicy(objects).filter((v) => v.rule === 'deployment-has-poddisruptionbudget');
    assert.deepEqual(
      found.map((v) => `${v.kind}/${v.name}`),
      ['PodDisruptionBudget/db'],
    );
  });

  test('a KEDA ScaledObject stands for the HPA it creates: same target and minimum rules', () => {
    const withScaledObject = () => {
      const objects = compliantCluster();
      const hpa = find(objects, 'HorizontalPodAutoscaler', 'web');
      objects.splice(objects.indexOf(hpa), 1, {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: hpa.metadata,
        // KEDA's scaleTargetRef kind defaults to Deployment.
        spec: { scaleTargetRef: { name: 'web' }, minReplicaCount: 2, maxReplicaCount: 4, triggers: [] },
      });
      return objects;
    };
    assert.deepEqual(checkK8sPolicy(withScaledObject()), []);

    const missing = withScaledObject();
    find(missing, 'ScaledObject', 'web').spec.scaleTargetRef.name = 'gone';
    assert.deepEqual(
      checkK8sPolicy(missing)
        .filter((v) => v.rule === 'horizontalpodautoscaler-has-target')
        .map((v) => `${v.kind}/${v.name}: ${v.message}`),
      ['ScaledObject/web: target Deployment/gone does not exist'],
    );

    const tooFew = withScaledObject();
    find(tooFew, 'ScaledObject', 'web').spec.minReplicaCount = 1;
    find(tooFew, 'PodDisruptionBudget', 'web').spec = {
      minAvailable: 2,
      selector: { matchLabels: { 'app.kubernetes.io/name': 'web' } },
    };
    assert.ok(
      checkK8sPolicy(tooFew).some(
        (v) => v.rule === 'horizontalpodautoscaler-has-target' && v.kind === 'PodDisruptionBudget',
      ),
    );
  });

  test('a PDB minAvailable above the HPA minReplicas fails', () => {
    const objects = compliantCluster();
    find(objects, 'PodDisruptionBudget', 'web').spec = {
      minAvailable: 3,
      selector: { matchLabels: { 'app.kubernetes.io/name': 'web' } },
    };
    assert.ok(
      checkK8sPolicy(objects).some(
        (v) => v.rule === 'horizontalpodautoscaler-has-target' && v.kind === 'PodDisruptionBudget',
      ),
    );
  });

  test('data: an unguarded CloudNativePG Cluster or PVC, and a data Application that prunes, fail', () => {
    // given
    const objects = compliantCluster();
    objects.push(
      { apiVersion: 'postgresql.cnpg.io/v1', kind: 'Cluster', metadata: { name: 'pg', namespace: 'app' }, spec: {} },
      { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'scratch', namespace: 'app' }, spec: {} },
    );
    find(objects, 'Application', 'app').spec.syncPolicy.automated.prune = true;
    // when
    const found = checkK8sPolicy(objects).map((v) => `${v.rule} ${v.kind}/${v.name}: ${v.message}`);
    // then
    assert.deepEqual(found, [
      'data-prune-guard Cluster/pg: owns volumes: needs argocd.argoproj.io/sync-options: Prune=false,Delete=false',
      'data-prune-guard PersistentVolumeClaim/scratch: owns volumes: needs argocd.argoproj.io/sync-options: Prune=false,Delete=false',
      'data-application-cascade Application/app: syncs data into app: automated sync must not prune',
    ]);
  });

  test("the Application installing a data kind's CRD (CloudNativePG's chart) must not prune nor cascade", () => {
    // given
    const objects = compliantCluster();
    objects.push(
      {
        apiVersion: 'postgresql.cnpg.io/v1',
        kind: 'Cluster',
        metadata: {
          name: 'pg',
          namespace: 'app',
          annotations: { 'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false' },
        },
        spec: {},
      },
      {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        metadata: {
          name: 'cloudnative-pg',
          namespace: 'argocd',
          finalizers: ['resources-finalizer.argocd.argoproj.io'],
        },
        spec: {
          source: { repoURL: 'https://charts.example', chart: 'cloudnative-pg', targetRevision: '0.1.0' },
          destination: { server: 'https://kubernetes.default.svc', namespace: 'cnpg-system' },
          syncPolicy: { automated: { prune: false, selfHeal: true } },
        },
      },
    );
    // when
    const found = checkK8sPolicy(objects).map((v) => `${v.rule} ${v.kind}/${v.name}: ${v.message}`);
    // then
    assert.deepEqual(found, [
      'data-application-cascade Application/cloudnative-pg: its chart cloudnative-pg installs the CRD of the data it holds: no resources-finalizer.argocd.argoproj.io',
    ]);
  });

  test('an Application syncing a namespace without volumes may prune and cascade', () => {
    const objects = compliantCluster();
    const db = find(objects, 'StatefulSet', 'db');
    delete db.spec.volumeClaimTemplates;
    find(objects, 'Application', 'app').metadata.finalizers = ['resources-finalizer.argocd.argoproj.io'];
    find(objects, 'Application', 'app').spec.syncPolicy.automated.prune = true;
    assert.deepEqual(checkK8sPolicy(objects), []);
  });

  test('Gateway API: a prefix or missing match, a missing Service port or listener, no certificate, no CA fail', () => {
    const rulesAfter = (breakIt: (objects: any[]) => void) => {
      const objects = compliantCluster();
      breakIt(objects);
      return checkK8sPolicy(objects).map((v) => `${v.rule}: ${v.message}`);
    };
    const route = (o: any[]) => find(o, 'HTTPRoute', 'web').spec;
    assert.deepEqual(
      rulesAfter((o) => (route(o).rules[0].matches = [{ path: { type: 'PathPrefix', value: '/' } }])),
      ['public-route-private-path: path / is not an Exact match'],
    );
    assert.deepEqual(
      rulesAfter((o) => delete route(o).rules[0].matches),
      ['public-route-private-path: a rule without matches routes every path'],
    );
    assert.deepEqual(
      rulesAfter((o) => (route(o).rules[0].backendRefs[0].port = 8081)),
      ['ingress-targets-service: backend Service web port 8081 does not exist'],
    );
    assert.deepEqual(
      rulesAfter((o) => (route(o).parentRefs[0].sectionName = 'http')),
      ['httproute-targets-gateway: Gateway web has no listener http'],
    );
    assert.deepEqual(
      rulesAfter((o) => delete find(o, 'Gateway', 'web').spec.listeners[0].tls.certificateRefs),
      ['tlsSettingsMissing: HTTPS listener https has no certificateRef'],
    );
    assert.deepEqual(
      rulesAfter((o) => o.splice(o.indexOf(find(o, 'TLSOption', 'default')), 1)),
      [
        'origin-client-certificate: HTTPS listeners must require a verified client certificate (default TLSOption, RequireAndVerifyClientCert with a CA)',
      ],
    );
  });

  test('a literal Secret in the output fails', () => {
    const objects = compliantCluster();
    objects.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'app' },
      stringData: { k: 'v' },
    });
    assert.ok(checkK8sPolicy(objects).some((v) => v.rule === 'sensitiveContainerEnvVar' && v.kind === 'Secret'));
  });

  test('an exemption with a reason silences only the named rule', () => {
    // given
    const objects = compliantCluster();
    delete webPod(objects).priorityClassName;
    delete webContainer(objects).readinessProbe;
    web(objects).metadata.annotations = {
      [IGNORE_ANNOTATION]: 'priorityClassNotSet',
      [IGNORE_REASON_ANNOTATION]: 'best-effort batch workload',
    };
    // when
    const rules = checkK8sPolicy(objects).map((v) => v.rule);
    // then
    assert.deepEqual(rules, ['pod-probes']);
  });

  test('an exemption without a reason is itself a violation and exempts nothing', () => {
    const objects = compliantCluster();
    delete webPod(objects).priorityClassName;
    web(objects).metadata.annotations = { [IGNORE_ANNOTATION]: 'priorityClassNotSet' };
    const rules = checkK8sPolicy(objects).map((v) => v.rule);
    assert.deepEqual(rules.sort(), ['exemption-without-reason', 'priorityClassNotSet']);
  });
});
