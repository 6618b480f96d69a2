import { parseAddressRange } from '../src/hub/net/cidr.ts';
import type { ClientAddressHeader } from '../src/hub/net/client-address.ts';

/** Port of the hub's operations listener (`/metrics`, the admin API, health) when nothing else is said. */
export const DEFAULT_HUB_ADMIN_PORT = 9090;

/** Paths besides the WebSocket that proxies route from the internet: what load balancers and monitors probe. */
export const HUB_HEALTH_PATHS = ['/api/health', '/api/ready'] as const;

export interface HubListenersProps {
  /** Public listener: the WebSocket and the health routes, the only port a proxy routes to. */
  readonly port: number;
  /** Operations listener: `/metrics`, `/api/admin/*` and health, never routed from the internet. */
  readonly adminPort: number;
  /**
   * Addresses and CIDR ranges of the reverse proxies in front of the hub, whose `X-Forwarded-For`
   * it believes. Without them every agent looks like the proxy and shares one per-address limit.
   */
  readonly trustedProxies: readonly string[];
  /**
   * The header those proxies name the client in. `cf-connecting-ip` only where no request reaches
   * the proxies without passing Cloudflare, which sets it. @default 'x-forwarded-for'
   */
  readonly clientAddressHeader?: ClientAddressHeader;
}

/**
 * The hub's listener settings as its environment variables, the same on every tier. Both listeners
 * bind every interface of the container or pod; what reaches them is decided outside it (published
 * ports, load balancer services, network policies).
 */
export function hubListenerEnvironment(p: HubListenersProps): Record<string, string> {
  for (const [name, port] of [
    ['port', p.port],
    ['adminPort', p.adminPort],
  ] as const) {
    if (!Number.isInteger(port) || port < 1024 || port > 65535) {
      throw new Error(`${name} must be an integer between 1024 and 65535 (got ${port})`);
    }
  }
  if (p.adminPort === p.port) {
    throw new Error(`adminPort must differ from the public port ${p.port}: /metrics and the admin API stay off it`);
  }
  return {
    HUB_HOST: '0.0.0.0',
    HUB_PORT: String(p.port),
    HUB_ADMIN_HOST: '0.0.0.0',
    HUB_ADMIN_PORT: String(p.adminPort),
    HUB_TRUSTED_PROXIES: trustedProxyList(p.trustedProxies),
    ...(p.clientAddressHeader ? { HUB_CLIENT_ADDRESS_HEADER: p.clientAddressHeader } : {}),
  };
}

/** `HUB_TRUSTED_PROXIES` for the given ranges; rejects what the hub would reject, and the whole internet. */
export function trustedProxyList(ranges: readonly string[]): string {
  if (ranges.length === 0) throw new Error('trustedProxies must list the proxies in front of the hub (got none)');
  for (const range of ranges) {
    const prefix = parseAddressRange(range)?.prefix;
    if (prefix === undefined) {
      throw new Error(`trustedProxies must be IP addresses or CIDR ranges (got ${JSON.stringify(range)})`);
    }
    if (prefix === 0) {
      throw new Error(
        `trustedProxies must not include the whole internet: any client could pick its address (got ${range})`,
      );
    }
  }
  return ranges.join(',');
}
