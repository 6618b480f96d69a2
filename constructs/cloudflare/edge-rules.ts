import { Ruleset, type RulesetRules } from '@cdktf/provider-cloudflare/lib/ruleset/index.js';
import { Construct } from 'constructs';
import { HUB_HEALTH_PATHS } from '../hub-listeners.ts';

/** Cloudflare's own managed rulesets (ids are the same in every account). */
export const MANAGED_RULESETS = {
  cloudflare: 'efb7b8c949ac4650a09736fc376e9aee',
  owaspCore: '4814384a9e5d4991b9815dcfc25d2f1f',
} as const;

/**
 * WebSocket connections the hub admits per client address (`HUB_MAX_CONNECTIONS_PER_ADDRESS`'s
 * default): the largest fleet that can sit behind one address, e.g. one NAT.
 */
export const HUB_CONNECTIONS_PER_ADDRESS = 200;

/**
 * Upgrades per minute per client address to the WebSocket path. After a deploy every agent behind
 * an address reconnects (the rolling update drains one pod at a time, the client backs off with
 * full jitter), and some try twice when a reconnect lands on a pod that is draining: twice the
 * largest fleet the hub admits behind one address, within one minute, passes. A key-guessing
 * client gets 400 tries a minute at the edge and 5 failed logins a minute at the hub.
 */
export const WEBSOCKET_UPGRADES_PER_MINUTE = 2 * HUB_CONNECTIONS_PER_ADDRESS;

/** The hub's admin API prefix: served on its operations port only, and blocked here as well. */
export const ADMIN_PATH_PREFIX = '/api/admin';

export interface EdgeRulesProps {
  /** Cloudflare zone id. */
  readonly zoneId: string;
  /**
   * Upgrades per minute per client IP to the WebSocket path, where API keys are tried (the seeds'
   * 10/min on `/auth/login` guarded the same thing, but would block a fleet reconnecting at once).
   * @default WEBSOCKET_UPGRADES_PER_MINUTE
   */
  readonly websocketUpgradesPerMinute?: number;
  /** Requests per minute per client IP to `/api/*` (the health routes; seeds/001: 100/min). */
  readonly apiRequestsPerMinute: number;
  /** Path agents open their WebSocket on: rate-limited per address, never cached. */
  readonly websocketPath: string;
  /**
   * Seconds a client that exceeded a rate limit stays blocked.
   * @default 60
   */
  readonly mitigationTimeoutSeconds?: number;
}

/**
 * The zone's request rules, one ruleset per phase, matched to the hub's real routes (`/ws`,
 * `/api/health`, `/api/ready`; nothing else is public): managed WAF rules, the admin API blocked
 * and every other path blocked at the edge, per-IP rate limits on WebSocket upgrades and on `/api/*` (seeds/001: 100/min), and
 * a cache rule that bypasses the API and the WebSocket path (nothing the hub serves is cacheable).
 */
export class EdgeRules extends Construct {
  readonly managedWaf: Ruleset;
  readonly customRules: Ruleset;
  readonly rateLimits: Ruleset;
  readonly cacheRules: Ruleset;

  constructor(scope: Construct, id: string, props: EdgeRulesProps) {
    super(scope, id);
    const upgrades = props.websocketUpgradesPerMinute ?? WEBSOCKET_UPGRADES_PER_MINUTE;
    for (const [name, value] of [
      ['websocketUpgradesPerMinute', upgrades],
      ['apiRequestsPerMinute', props.apiRequestsPerMinute],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be an integer >= 1 (got ${value})`);
    }
    if (!/^\/[A-Za-z0-9/_-]+$/.test(props.websocketPath))
      throw new Error(`websocketPath must be an absolute URL path (got ${props.websocketPath})`);
    const zone = { zoneId: props.zoneId, kind: 'zone' };
    const publicPaths = [props.websocketPath, ...HUB_HEALTH_PATHS];

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
          // The hub serves the admin API on its operations port only; this keeps it so if a proxy
          // ever routes more than the public paths.
          description: 'block the admin API at the edge',
          expression: `(starts_with(http.request.uri.path, "${ADMIN_PATH_PREFIX}"))`,
          action: 'block',
        },
        {
          description: 'block every path the hub does not serve publicly',
          expression: `(not http.request.uri.path in {${publicPaths.map((p) => `"${p}"`).join(' ')}})`,
          action: 'block',
        },
      ],
    });

    const timeout = props.mitigationTimeoutSeconds ?? 60;
    const limit = (description: string, expression: string, perMinute: number): RulesetRules => ({
      description,
      expression,
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
        limit(
          `websocket: ${upgrades} upgrades/min per IP`,
          `(http.request.uri.path eq "${props.websocketPath}")`,
          upgrades,
        ),
        limit(
          `api: ${props.apiRequestsPerMinute} requests/min per IP`,
          '(starts_with(http.request.uri.path, "/api/"))',
          props.apiRequestsPerMinute,
        ),
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
      ],
    });
  }
}
