/*
 * Helm values of Traefik, the Gateway API controller of tiers 2-3. It replaced ingress-nginx, which
 * reached end of maintenance on 2026-03-24 (no releases, no security fixes since). Among the
 * conformant, maintained Gateway API implementations that run well on k3s, Traefik is the one whose
 * whole data path is a single Go program: the Go module proxy serves it, so the real proxy can be
 * built and run in tests here, while Envoy Gateway's proxy is C++ and cannot. It is also what k3s
 * ships by default, so operators already know it.
 */
import { parseAddressRange } from '../../src/hub/net/cidr.ts';
import { TRAEFIK_WEBSECURE_PORT } from './gateway.ts';

/**
 * Entrypoint timeouts safe for WebSockets that stay open for hours. Cloudflare closes a connection
 * idle for 100 s and the hub pings every 30 s, so an open socket is never idle that long. Traefik
 * sets its read and write deadlines before the upgrade and they stay on the hijacked connection:
 * any finite value (v3's default read timeout is 60 s) would cut every WebSocket at that age, so
 * both are off. The idle timeout (between requests on a keep-alive connection) stays above
 * Cloudflare's 100 s so Traefik never closes a connection Cloudflare is about to reuse.
 */
export const WEBSOCKET_TIMEOUTS = { readTimeout: '0s', writeTimeout: '0s', idleTimeout: '180s' } as const;

/**
 * Values for the `traefik` chart: the Kubernetes Gateway provider on (its GatewayClass `traefik`;
 * the Gateway itself comes from the hub's chart), the CRD provider for the client-certificate
 * TLSOption, the Ingress provider off. The Service adopts the Terraform load balancer through the
 * hcloud cloud-controller-manager; the load balancer sends PROXY protocol from its private address,
 * and only that range may set a client address. Port 80 is not exposed: Cloudflare always
 * connects over HTTPS (zone setting `ssl: strict`, `always_use_https`).
 */
export function traefikValues(loadBalancerName: string, location: string, loadBalancerRange: string) {
  if (parseAddressRange(loadBalancerRange)?.prefix === undefined) {
    throw new Error(`loadBalancerPrivateRange must be a CIDR range (got ${JSON.stringify(loadBalancerRange)})`);
  }
  return {
    deployment: { replicas: 2 },
    podDisruptionBudget: { enabled: true, maxUnavailable: 1 },
    providers: {
      kubernetesGateway: { enabled: true },
      kubernetesCRD: { enabled: true },
      kubernetesIngress: { enabled: false },
    },
    gatewayClass: { enabled: true, name: 'traefik' },
    // The chart's own catch-all Gateway would answer on every hostname; the hub's chart brings its own.
    gateway: { enabled: false },
    ingressClass: { enabled: false },
    ports: {
      web: { expose: { default: false } },
      websecure: {
        port: TRAEFIK_WEBSECURE_PORT,
        exposedPort: 443,
        proxyProtocol: { trustedIPs: [loadBalancerRange] },
        transport: { respondingTimeouts: WEBSOCKET_TIMEOUTS },
      },
    },
    service: {
      annotations: {
        'load-balancer.hetzner.cloud/name': loadBalancerName,
        'load-balancer.hetzner.cloud/location': location,
        'load-balancer.hetzner.cloud/use-private-ip': 'true',
        'load-balancer.hetzner.cloud/uses-proxyprotocol': 'true',
      },
    },
    // The ServiceMonitor scrapes a metrics Service of its own; the public Service never exposes metrics.
    metrics: { prometheus: { service: { enabled: true }, serviceMonitor: { enabled: true } } },
  };
}
