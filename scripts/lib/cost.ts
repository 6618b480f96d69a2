import { HETZNER_PRICES, type PriceTable } from '../../constructs/hetzner/prices.ts';
import { blocks, type TerraformJson } from './terraform-json.ts';

export interface CostLine {
  readonly stack: string;
  readonly role: string;
  readonly item: string;
  readonly quantity: number;
  readonly unitMonthly: number;
  readonly monthly: number;
}

// Synthesized JSON is checked field by field where it is read.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = Record<string, any>;

const round = (n: number) => Math.round(n * 100) / 100;
const roleOf = (body: Body) => (body.labels?.['ringforge/role'] as string | undefined) ?? 'unlabelled';

function unitPrice(table: Readonly<Record<string, number>>, kind: string, type: string): number {
  const price = table[type];
  if (price === undefined)
    throw new Error(`no ${kind} price for type "${type}" in the price table (${Object.keys(table).join(', ')})`);
  return price;
}

/** Prices what synthesized stacks would create: servers, load balancers, volumes, primary IPs. */
export function priceStacks(
  stacks: Readonly<Record<string, TerraformJson>>,
  prices: PriceTable = HETZNER_PRICES,
): CostLine[] {
  const lines = new Map<string, CostLine>();
  const add = (stack: string, role: string, item: string, unitMonthly: number, quantity = 1) => {
    const key = `${stack}|${role}|${item}`;
    const prev = lines.get(key);
    const q = (prev?.quantity ?? 0) + quantity;
    lines.set(key, { stack, role, item, quantity: q, unitMonthly, monthly: round(q * unitMonthly) });
  };
  for (const [stack, doc] of Object.entries(stacks)) {
    for (const { type, body } of blocks(doc) as { type: string; body: Body }[]) {
      if (type === 'hcloud_server')
        add(
          stack,
          roleOf(body),
          `server ${body.server_type}`,
          unitPrice(prices.serverMonthly, 'server', body.server_type),
        );
      if (type === 'hcloud_load_balancer')
        add(
          stack,
          roleOf(body),
          `load balancer ${body.load_balancer_type}`,
          unitPrice(prices.loadBalancerMonthly, 'load balancer', body.load_balancer_type),
        );
      if (type === 'hcloud_volume') add(stack, roleOf(body), 'volume GB', prices.volumePerGbMonthly, Number(body.size));
      if (type === 'hcloud_primary_ip')
        add(
          stack,
          roleOf(body),
          `primary ${body.type}`,
          body.type === 'ipv4' ? prices.primaryIpv4Monthly : prices.primaryIpv6Monthly,
        );
    }
  }
  return [...lines.values()].sort(
    (a, b) => a.stack.localeCompare(b.stack) || a.role.localeCompare(b.role) || a.item.localeCompare(b.item),
  );
}

export const totalMonthly = (lines: readonly CostLine[]): number => round(lines.reduce((sum, l) => sum + l.monthly, 0));
