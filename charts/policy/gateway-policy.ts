/*
 * The Gateway API rows of the Kubernetes checklist: what POLICY.md row 24 asks of an Ingress
 * (an existing backend, TLS with a certificate), asked of Gateways and HTTPRoutes, plus the
 * origin lock of issue 13: a route reaches public paths only, and an HTTPS gateway admits only
 * clients with Cloudflare's origin-pull certificate.
 */
import type { K8sObject, Rule } from './k8s-policy.ts';

type Report = (rule: Rule, o: K8sObject, message: string) => void;

/** Service ports that serve `/metrics` or an admin API: never a backend of a public route. */
export const PRIVATE_PORT_NAMES: readonly string[] = ['admin', 'metrics'];

interface ServiceSpec {
  readonly ports?: { readonly name?: string; readonly port?: number }[];
}
interface ParentRef {
  readonly name?: string;
  readonly namespace?: string;
  readonly sectionName?: string;
  readonly kind?: string;
}
interface BackendRef {
  readonly name?: string;
  readonly namespace?: string;
  readonly kind?: string;
  readonly port?: number;
}
interface HttpRouteSpec {
  readonly parentRefs?: ParentRef[];
  readonly rules?: {
    readonly matches?: { readonly path?: { readonly type?: string; readonly value?: string } }[];
    readonly backendRefs?: BackendRef[];
  }[];
}
interface Listener {
  readonly name?: string;
  readonly protocol?: string;
  readonly tls?: { readonly mode?: string; readonly certificateRefs?: { readonly name?: string }[] };
}
interface TlsOptionSpec {
  readonly clientAuth?: { readonly clientAuthType?: string; readonly secretNames?: string[] };
}

const specOf = <T>(o: K8sObject): T => (o.spec ?? {}) as T;
const ns = (o: K8sObject) => o.metadata.namespace ?? '';

/** A backend must be an existing Service port that is not private, reached by exact public paths only. */
export function checkHttpRoute(o: K8sObject, objects: readonly K8sObject[], report: Report): void {
  const s = specOf<HttpRouteSpec>(o);
  for (const parent of s.parentRefs ?? []) {
    const gateway = objects.find(
      (g) => g.kind === 'Gateway' && g.metadata.name === parent.name && ns(g) === (parent.namespace ?? ns(o)),
    );
    const listeners = gateway ? (specOf<{ listeners?: Listener[] }>(gateway).listeners ?? []) : [];
    if ((parent.kind ?? 'Gateway') !== 'Gateway' || !gateway) {
      report('httproute-targets-gateway', o, `parent Gateway ${parent.name} does not exist`);
    } else if (parent.sectionName && !listeners.some((l) => l.name === parent.sectionName)) {
      report('httproute-targets-gateway', o, `Gateway ${parent.name} has no listener ${parent.sectionName}`);
    }
  }
  if ((s.parentRefs ?? []).length === 0) report('httproute-targets-gateway', o, 'names no parent Gateway');
  for (const rule of s.rules ?? []) {
    for (const b of rule.backendRefs ?? []) {
      const service = objects.find(
        (x) => x.kind === 'Service' && x.metadata.name === b.name && ns(x) === (b.namespace ?? ns(o)),
      );
      const port = service && (specOf<ServiceSpec>(service).ports ?? []).find((p) => p.port === b.port);
      if ((b.kind ?? 'Service') !== 'Service' || !port) {
        report('ingress-targets-service', o, `backend Service ${b.name} port ${b.port} does not exist`);
      } else if (PRIVATE_PORT_NAMES.includes(port.name ?? '')) {
        report('public-route-private-path', o, `backend ${b.name}:${b.port} is the private port ${port.name}`);
      }
    }
    // No match at all matches every path, and a prefix reaches whatever the backend serves below it.
    const matches = rule.matches ?? [];
    if (matches.length === 0) report('public-route-private-path', o, 'a rule without matches routes every path');
    for (const m of matches) {
      if (m.path?.type !== 'Exact') {
        report('public-route-private-path', o, `path ${m.path?.value ?? '/'} is not an Exact match`);
      }
    }
  }
}

/**
 * An HTTPS listener terminates TLS with a certificate, and the cluster's default Traefik TLSOption
 * (which every Gateway listener uses) requires and verifies a client certificate against a CA.
 */
export function checkGateway(o: K8sObject, objects: readonly K8sObject[], report: Report): void {
  const https = (specOf<{ listeners?: Listener[] }>(o).listeners ?? []).filter((l) => l.protocol === 'HTTPS');
  for (const l of https) {
    if ((l.tls?.certificateRefs ?? []).length === 0) {
      report('tlsSettingsMissing', o, `HTTPS listener ${l.name} has no certificateRef`);
    }
  }
  if (https.length === 0) return;
  const clientAuth = objects
    .filter((t) => t.kind === 'TLSOption' && t.metadata.name === 'default')
    .map((t) => specOf<TlsOptionSpec>(t).clientAuth);
  if (!clientAuth.some((c) => c?.clientAuthType === 'RequireAndVerifyClientCert' && (c.secretNames ?? []).length > 0)) {
    report(
      'origin-client-certificate',
      o,
      'HTTPS listeners must require a verified client certificate (default TLSOption, RequireAndVerifyClientCert with a CA)',
    );
  }
}
