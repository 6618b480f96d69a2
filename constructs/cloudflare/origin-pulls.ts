import { AuthenticatedOriginPullsSettings } from '@cdktf/provider-cloudflare/lib/authenticated-origin-pulls-settings/index.js';
import { Construct } from 'constructs';

export interface AuthenticatedOriginPullsProps {
  /** Cloudflare zone id. */
  readonly zoneId: string;
}

/**
 * Zone-level Authenticated Origin Pulls: Cloudflare presents its origin-pull client certificate on
 * every connection to the origin, and the origin (the tier 0 nginx, the tiers 2-3 Traefik gateway)
 * refuses any TLS client without one. A client that finds the origin's address skips nothing: it
 * cannot complete a handshake, so the WAF, the rate limits and the bot rules stay in the path.
 *
 * Cloudflare signs that certificate with one CA for every zone, so it proves "Cloudflare", not
 * "this zone": someone with a zone of their own pointed at our address still gets through
 * Cloudflare with their rules, not ours. The firewall (tier 0) narrows who can connect to
 * Cloudflare; a per-hostname certificate from our own CA would close the rest (runbooks/edge.md).
 */
export class AuthenticatedOriginPulls extends Construct {
  readonly settings: AuthenticatedOriginPullsSettings;

  constructor(scope: Construct, id: string, props: AuthenticatedOriginPullsProps) {
    super(scope, id);
    this.settings = new AuthenticatedOriginPullsSettings(this, 'Settings', { zoneId: props.zoneId, enabled: true });
  }
}
