import { isIP } from 'node:net';

/** An IP address or CIDR range as `HUB_TRUSTED_PROXIES` takes it. */
export interface AddressRange {
  readonly address: string;
  readonly family: 'ipv4' | 'ipv6';
  /** The prefix length; a plain address is its family's full length. */
  readonly prefix: number;
}

/** `10.42.0.0/16`, `::1` and the like; undefined for anything else. */
export function parseAddressRange(entry: string): AddressRange | undefined {
  const [address = '', bits, extra] = entry.split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return undefined;
  const max = version === 6 ? 128 : 32;
  if (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= max)) return undefined;
  return { address, family: version === 6 ? 'ipv6' : 'ipv4', prefix: bits === undefined ? max : Number(bits) };
}
