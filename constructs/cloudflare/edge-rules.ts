import { Ruleset, type RulesetRules } from '@cdktf/provider-cloudflare/lib/ruleset/index.js';
import { Construct } from 'constructs';

/** Cloudflare's own managed rulesets (ids are the same in every account). */
export const MANAGED_RULESETS = {
  cloudflare: 'efb7b8c949ac4650a09736fc376e9aee',
  owaspCore: '4814384a9e5d4991b9815dcfc25d2f1f',
} as const;

export interface EdgeRulesProps {
  /** Cloudflare zone id. */
  readonly zoneId: string;
  /** Requests per minute per client IP to `/auth/*` before it is blocked for a while. */
  readonly authRequestsPerMinute: number;
  /** Requests per minute per client IP to `/api/*`. */
  readonly apiRequestsPerMinute: number;
  /** Path agents open their WebSocket on; never cached, never rate-limited per request. */
  readonly websocketPath: string;
  /**
   * Seconds a client that exceeded a rate limit stays blocked.
   * @default 60
   */
  readonly mitigationTimeoutSeconds?: number;
}

const STATIC_EXTENSIONS = ['css', 'js', 'mjs', 'png', 'jpg', 'jpeg', 'gif', 'svg', 'ico', 'webp', 'woff', 'woff2'];

/**
 * The zone's request rules, one ruleset per phase: managed WAF rules, a challenge for bots on
 * the auth endpoints, per-IP rate limits (seeds/001: /auth 10/min, /api 100/min) and cache rules
 * that cache static assets and bypass the API and the WebSocket path.
 */
export class EdgeRules extends Construct {
  readonly managedWaf: Ruleset;
  readonly customRules: Ruleset;
  readonly rateLimits: Ruleset;
  readonly cacheRules: Ruleset;

  constructor(scope: Construct, id: string, props: EdgeRulesProps) {
    super(scope, id);
    for (const [name, value] of [
      ['authRequestsPerMinute', props.authRequestsPerMinute],
      ['apiRequestsPerMinute', props.apiRequestsPerMinute],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be an integer >= 1 (got ${value})`);
    }
    if (!props.websocketPath.startsWith('/'))
      throw new Error(`websocketPath must start with / (got ${props.websocketPath})`);
    const zone = { zoneId: props.zoneId, kind: 'zone' };

    this.managedWaf = new Ruleset(this, 'ManagedWaf', {
      ...zone,
      name: 'ringforge managed WAF',
      phase: 'http_request_firewall_managed',
      rules: Object.entries(MANAGED_RULESETS).map(([name, rulesetId]) => ({
        description: `execute the ${name} managed ruleset`,
        expression: 'true',
        action: 'execute',
        actionParameters: { id: rulesetId },
      })),
    });

    this.customRules = new Ruleset(this, 'CustomRules', {
      ...zone,
      name: 'ringforge custom rules',
      phase: 'http_request_firewall_custom',
      rules: [
        {
          description: 'challenge unverified bots on auth endpoints',
          expression: '(starts_with(http.request.uri.path, "/auth/") and not cf.client.bot)',
          action: 'managed_challenge',
        },
      ],
    });

    const timeout = props.mitigationTimeoutSeconds ?? 60;
    const limit = (description: string, prefix: string, perMinute: number): RulesetRules => ({
      description,
      expression: `(starts_with(http.request.uri.path, "${prefix}"))`,
      action: 'block',
      ratelimit: {
        characteristics: ['ip.src', 'cf.colo.id'],
        period: 60,
        requestsPerPeriod: perMinute,
        mitigationTimeout: timeout,
      },
    });
    this.rateLimits = new Ruleset(this, 'RateLimits', {
      ...zone,
      name: 'ringforge rate limits',
      phase: 'http_ratelimit',
      rules: [
        limit(`auth: ${props.authRequestsPerMinute} requests/min per IP`, '/auth/', props.authRequestsPerMinute),
        limit(`api: ${props.apiRequestsPerMinute} requests/min per IP`, '/api/', props.apiRequestsPerMinute),
      ],
    });

    this.cacheRules = new Ruleset(this, 'CacheRules', {
      ...zone,
      name: 'ringforge cache rules',
      phase: 'http_request_cache_settings',
      rules: [
        {
          description: 'bypass the cache for the API and agent WebSockets',
          expression: `(starts_with(http.request.uri.path, "/api/") or starts_with(http.request.uri.path, "${props.websocketPath}"))`,
          action: 'set_cache_settings',
          actionParameters: { cache: false },
        },
        {
          description: 'cache static assets',
          expression: `(http.request.uri.path.extension in {${STATIC_EXTENSIONS.map((e) => `"${e}"`).join(' ')}})`,
          action: 'set_cache_settings',
          actionParameters: { cache: true },
        },
      ],
    });
  }
}
