import { isIP, type BlockList } from 'node:net';
import type { IncomingMessage } from 'node:http';

/** `::ffff:203.0.113.7` and `203.0.113.7` are one client: limits must not count them apart. */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return (mapped?.[1] ?? address).toLowerCase();
}

function trusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** Where a trusted proxy tells the client's address: the forwarding chain, or Cloudflare's header. */
export const CLIENT_ADDRESS_HEADERS = ['x-forwarded-for', 'cf-connecting-ip'] as const;
export type ClientAddressHeader = (typeof CLIENT_ADDRESS_HEADERS)[number];

/**
 * The address limits are bound to. Headers are read only from a trusted proxy. With
 * `cf-connecting-ip`, the address Cloudflare's edge saw, which Cloudflare always sets and a client
 * cannot forge behind an origin only Cloudflare reaches. Otherwise `X-Forwarded-For`, right to left,
 * and the first hop that is not itself a trusted proxy is the client: anything further left was
 * written by the client and proves nothing.
 */
export function clientAddress(
  req: IncomingMessage,
  trustedProxies: BlockList,
  via: ClientAddressHeader = 'x-forwarded-for',
): string {
  let address = normalizeAddress(req.socket.remoteAddress ?? 'unknown');
  if (!trusted(trustedProxies, address)) return address;
  if (via === 'cf-connecting-ip') {
    const connecting = req.headers['cf-connecting-ip'];
    const edgeSaw = typeof connecting === 'string' ? normalizeAddress(connecting.trim()) : '';
    if (isIP(edgeSaw) !== 0) return edgeSaw;
  }
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((hop) => normalizeAddress(hop.trim()));
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) break;
    address = hop;
    if (!trusted(trustedProxies, hop)) break;
  }
  return address;
}

/**
 * The path and query of an origin-form request target (`/api/ready?x=1`), or undefined for any
 * other form (absolute, authority, asterisk, `//host/…`), which this server never serves.
 */
export function requestTarget(raw: string | undefined): { path: string; query: URLSearchParams } | undefined {
  if (raw === undefined || !raw.startsWith('/') || raw.startsWith('//')) return undefined;
  const mark = raw.indexOf('?');
  const path = mark < 0 ? raw : raw.slice(0, mark);
  return { path, query: new URLSearchParams(mark < 0 ? '' : raw.slice(mark + 1)) };
}
