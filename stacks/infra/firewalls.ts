import { Fn } from 'cdktf';
import { OriginFirewall } from '../../constructs/hetzner/origin-firewall.ts';
import { hetznerLabels, roleSelector } from '../../constructs/labels.ts';
import type { LayoutContext } from './context.ts';

/** Cloudflare's published ranges, IPv4 and IPv6, as one list. */
export const cloudflareSources = (ctx: LayoutContext): string[] =>
  Fn.concat([ctx.cloudflareRanges.ipv4Cidrs, ctx.cloudflareRanges.ipv6Cidrs]);

/** A firewall for the servers of one role: SSH (and any extra ports) from admin networks only. */
export function roleFirewall(
  ctx: LayoutContext,
  role: string,
  opts: { readonly web?: boolean; readonly adminPorts?: readonly string[] } = {},
): OriginFirewall {
  return new OriginFirewall(ctx.stack, `Firewall-${role}`, {
    name: `${ctx.prefix}-${role}`,
    appliesTo: roleSelector(ctx.labels(role)),
    adminCidrs: ctx.env.adminCidrs,
    adminPorts: opts.adminPorts,
    webSources: opts.web ? cloudflareSources(ctx) : undefined,
    labels: hetznerLabels(ctx.labels('firewall')),
  });
}
