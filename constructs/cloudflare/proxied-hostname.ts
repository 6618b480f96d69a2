import { DnsRecord } from '@cdktf/provider-cloudflare/lib/dns-record/index.js';
import { Construct } from 'constructs';

export interface ProxiedHostnameProps {
  /** Cloudflare zone id. */
  readonly zoneId: string;
  /** Fully qualified hostname. */
  readonly hostname: string;
  /** Origin IPv4 address (A record). */
  readonly ipv4: string;
  /**
   * Origin IPv6 address (AAAA record).
   * @default - no AAAA record
   */
  readonly ipv6?: string;
}

/** A hostname served through Cloudflare's proxy: visitors only ever see Cloudflare's addresses. */
export class ProxiedHostname extends Construct {
  readonly records: DnsRecord[];

  constructor(scope: Construct, id: string, props: ProxiedHostnameProps) {
    super(scope, id);
    const common = { zoneId: props.zoneId, name: props.hostname, proxied: true, ttl: 1 };
    this.records = [
      new DnsRecord(this, 'A', { ...common, type: 'A', content: props.ipv4, comment: 'managed by ringforge-deploy' }),
    ];
    if (props.ipv6) {
      this.records.push(
        new DnsRecord(this, 'AAAA', {
          ...common,
          type: 'AAAA',
          content: props.ipv6,
          comment: 'managed by ringforge-deploy',
        }),
      );
    }
  }
}
