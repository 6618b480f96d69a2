import { Construct } from 'constructs';
import {
  Gateway,
  GatewaySpecListenersAllowedRoutesNamespacesFrom,
  GatewaySpecListenersTlsMode,
  HttpRoute,
  HttpRouteSpecRulesMatchesPathType,
} from '../../imports/gateway.networking.k8s.io.ts';
import { TlsOption, TlsOptionSpecClientAuthClientAuthType } from '../../imports/traefik.io.ts';

/** GatewayClass the Traefik chart installs for its controller (`traefik.io/gateway-controller`). */
export const TRAEFIK_GATEWAY_CLASS = 'traefik';

/**
 * Port of Traefik's `websecure` entrypoint inside its pods. Traefik binds a Gateway listener to the
 * entrypoint with the same port, so the listener names this one, not the load balancer's 443.
 */
export const TRAEFIK_WEBSECURE_PORT = 8443;

/** Name of the HTTPS listener; the HTTPRoute attaches to it alone. */
export const HTTPS_LISTENER = 'https';

/** Secret holding Cloudflare's origin-pull CA (`ca.crt`), created by the secrets runbook. */
export const ORIGIN_PULL_CA_SECRET = 'cloudflare-origin-pull-ca';

export interface HubGatewayProps {
  readonly namespace: string;
  /** Name of the Gateway, the HTTPRoute and labels' owner. */
  readonly name: string;
  readonly labels: Record<string, string>;
  /** Public hostname agents connect to; the only one the listener answers for. */
  readonly hostname: string;
  /** Secret with the origin certificate for `hostname` (`kubernetes.io/tls`). */
  readonly tlsSecretName: string;
  /** The hub's Service and its public port: the only backend. */
  readonly serviceName: string;
  readonly servicePort: number;
  /** Exact paths routed to the hub: the WebSocket and the health routes. */
  readonly paths: readonly string[];
  /** @default TRAEFIK_GATEWAY_CLASS */
  readonly gatewayClassName?: string;
  /** @default ORIGIN_PULL_CA_SECRET */
  readonly originPullCaSecret?: string;
}

/**
 * The hub's public entry on tiers 2-3: a Gateway with one HTTPS listener (the origin certificate)
 * and an HTTPRoute with an exact match per public path, nothing else; any other path gets Traefik's
 * 404 and never reaches the hub. The TLSOption named `default` is the one Traefik applies to every
 * router without its own, the Gateway's included: it requires a client certificate signed by
 * Cloudflare's origin-pull CA, so only Cloudflare (Authenticated Origin Pulls) completes a handshake
 * and a client that found the load balancer's address gets no hub.
 */
export class HubGateway extends Construct {
  readonly gateway: Gateway;
  readonly route: HttpRoute;
  readonly tlsOption: TlsOption;

  constructor(scope: Construct, id: string, props: HubGatewayProps) {
    super(scope, id);
    if (props.paths.length === 0) throw new Error('paths must list the public routes (got none)');
    for (const path of props.paths) {
      if (!/^\/[A-Za-z0-9/_-]+$/.test(path)) throw new Error(`paths must be absolute URL paths (got ${path})`);
    }
    const metadata = { name: props.name, namespace: props.namespace, labels: props.labels };

    this.gateway = new Gateway(this, 'Gateway', {
      metadata,
      spec: {
        gatewayClassName: props.gatewayClassName ?? TRAEFIK_GATEWAY_CLASS,
        listeners: [
          {
            name: HTTPS_LISTENER,
            protocol: 'HTTPS',
            port: TRAEFIK_WEBSECURE_PORT,
            hostname: props.hostname,
            tls: {
              mode: GatewaySpecListenersTlsMode.TERMINATE,
              certificateRefs: [{ kind: 'Secret', group: '', name: props.tlsSecretName }],
            },
            allowedRoutes: { namespaces: { from: GatewaySpecListenersAllowedRoutesNamespacesFrom.SAME } },
          },
        ],
      },
    });

    this.route = new HttpRoute(this, 'Route', {
      metadata,
      spec: {
        parentRefs: [{ name: props.name, sectionName: HTTPS_LISTENER }],
        hostnames: [props.hostname],
        rules: [
          {
            matches: props.paths.map((value) => ({
              path: { type: HttpRouteSpecRulesMatchesPathType.EXACT, value },
            })),
            backendRefs: [{ name: props.serviceName, port: props.servicePort }],
          },
        ],
      },
    });

    // Traefik allows one TLSOption named `default` in the whole cluster; it lives beside the CA Secret.
    this.tlsOption = new TlsOption(this, 'ClientCertificate', {
      metadata: { name: 'default', namespace: props.namespace, labels: props.labels },
      spec: {
        minVersion: 'VersionTLS12',
        sniStrict: true,
        clientAuth: {
          clientAuthType: TlsOptionSpecClientAuthClientAuthType.REQUIRE_AND_VERIFY_CLIENT_CERT,
          secretNames: [props.originPullCaSecret ?? ORIGIN_PULL_CA_SECRET],
        },
      },
    });
  }
}
