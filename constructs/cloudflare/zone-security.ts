import { ZoneSetting } from '@cdktf/provider-cloudflare/lib/zone-setting/index.js';
import { Construct } from 'constructs';

export interface ZoneSecurityProps {
  /** Cloudflare zone id. */
  readonly zoneId: string;
  /**
   * HSTS max-age in seconds. Start low when a zone first serves HTTPS; browsers remember it.
   * @default 31536000 (one year)
   */
  readonly hstsMaxAgeSeconds?: number;
}

/**
 * TLS and transport settings of a zone whose origins hold Cloudflare origin certificates:
 * full (strict) TLS to the origin, TLS 1.2 at least, TLS 1.3 on, HTTPS always, HSTS, WebSockets.
 */
export class ZoneSecurity extends Construct {
  /** The settings by Cloudflare setting id, e.g. `ssl`. */
  readonly settings: Record<string, ZoneSetting> = {};

  constructor(scope: Construct, id: string, props: ZoneSecurityProps) {
    super(scope, id);
    const hsts = props.hstsMaxAgeSeconds ?? 31536000;
    if (hsts < 0) throw new Error(`hstsMaxAgeSeconds must be >= 0 (got ${hsts})`);
    const values: Record<string, string | object> = {
      ssl: 'strict',
      min_tls_version: '1.2',
      tls_1_3: 'on',
      always_use_https: 'on',
      automatic_https_rewrites: 'on',
      websockets: 'on',
      security_header: {
        strict_transport_security: {
          enabled: true,
          max_age: hsts,
          include_subdomains: true,
          preload: false,
          nosniff: true,
        },
      },
    };
    for (const [settingId, value] of Object.entries(values)) {
      const setting = new ZoneSetting(this, settingId, { zoneId: props.zoneId, settingId, value: {} });
      // `value` is dynamically typed in the provider (a string for most settings) but the
      // generated binding models it as a map, so the real value is written as an override.
      setting.addOverride('value', value);
      this.settings[settingId] = setting;
    }
  }
}
