/*
 * The local addresses a load generator connects from. The kernel gives each source address about
 * 28k ephemeral ports (32768-60999 by default), so a generator holding more connections than that to
 * a hub on loopback spreads them over 127.0.0.1, 127.0.0.2, ...: all of 127.0.0.0/8 is loopback on
 * Linux and needs no set-up. LOADTEST_SOURCE_ADDRESSES (comma-separated) names them explicitly.
 */
import { isIPv4, isIP } from 'node:net';

export const CONNECTIONS_PER_SOURCE_ADDRESS = 28_000;

/** 127.0.0.1-127.0.0.254: more than 7 million connections, far beyond what one generator holds. */
const MAX_LOOPBACK_SOURCES = 254;

function isIpv4Loopback(host: string): boolean {
  return isIPv4(host) && host.startsWith('127.');
}

/**
 * The source addresses for `plannedConnections` connections to `wsUrl`, used round robin; empty
 * when the kernel's default address suffices (or cannot be replaced: a target not on loopback).
 */
export function sourceAddresses(
  wsUrl: string,
  plannedConnections: number,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string[] {
  const listed = (env.LOADTEST_SOURCE_ADDRESSES ?? '')
    .split(',')
    .map((address) => address.trim())
    .filter((address) => address !== '');
  const invalid = listed.find((address) => isIP(address) === 0);
  if (invalid !== undefined) throw new Error(`LOADTEST_SOURCE_ADDRESSES: "${invalid}" is not an IP address`);
  if (listed.length > 0) return listed;

  const needed = Math.ceil(plannedConnections / CONNECTIONS_PER_SOURCE_ADDRESS);
  if (needed <= 1 || !isIpv4Loopback(new URL(wsUrl).hostname)) return [];
  if (needed > MAX_LOOPBACK_SOURCES) {
    throw new Error(`${plannedConnections} connections need more than ${MAX_LOOPBACK_SOURCES} loopback addresses`);
  }
  return Array.from({ length: needed }, (_, i) => `127.0.0.${i + 1}`);
}
