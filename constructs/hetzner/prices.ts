export interface PriceTable {
  /** Date the prices were read from Hetzner's price list. */
  readonly asOf: string;
  readonly currency: string;
  readonly serverMonthly: Readonly<Record<string, number>>;
  readonly loadBalancerMonthly: Readonly<Record<string, number>>;
  readonly volumePerGbMonthly: number;
  readonly primaryIpv4Monthly: number;
  readonly primaryIpv6Monthly: number;
}

/**
 * Hetzner Cloud list prices the kit estimates costs with: EUR per month, excluding VAT, for the
 * German and Finnish locations. Hetzner changes prices from time to time (and charges more in
 * its US and Singapore locations); update this table and its date when it does.
 */
export const HETZNER_PRICES: PriceTable = {
  asOf: '2025-10-01',
  currency: 'EUR',
  serverMonthly: {
    cx23: 3.49,
    cx33: 5.49,
    cx43: 9.49,
    cx53: 17.49,
    cpx12: 4.99,
    cpx22: 7.99,
    cpx32: 13.99,
    cpx42: 25.49,
    cpx52: 36.49,
    cpx62: 51.49,
    cax11: 3.79,
    cax21: 6.49,
    cax31: 12.49,
    cax41: 24.49,
    ccx13: 12.49,
    ccx23: 24.49,
    ccx33: 48.49,
    ccx43: 96.49,
    ccx53: 192.49,
    ccx63: 288.49,
  },
  loadBalancerMonthly: { lb11: 5.39, lb21: 16.4, lb31: 32.9 },
  volumePerGbMonthly: 0.044,
  primaryIpv4Monthly: 0.5,
  /** IPv6 primary IPs cost nothing. */
  primaryIpv6Monthly: 0,
};
