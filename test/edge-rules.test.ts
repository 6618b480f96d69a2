/*
 * The synthesized Cloudflare rulesets of every environment, read from dist/terraform and checked
 * route by route against the hub: its public routes pass the firewall, are rate-limited per address
 * and never cached; its private routes (`/metrics`, the admin API) and any other path are blocked at
 * the edge. The rule expressions are evaluated by a small interpreter of the shapes EdgeRules
 * writes; a shape it does not know fails the test instead of being skipped.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { HUB_CONNECTIONS_PER_ADDRESS } from '../constructs/cloudflare/edge-rules.ts';
import { HUB_HEALTH_PATHS } from '../constructs/hub-listeners.ts';
import { loadHetznerEnvironments } from '../environments/index.ts';
import { repoRoot } from '../scripts/lib/tools.ts';
import { loadConfig } from '../src/hub/config.ts';

interface Rule {
  readonly expression: string;
  readonly action: string;
  readonly ratelimit?: { readonly requests_per_period: number; readonly period: number };
  readonly action_parameters?: { readonly cache?: boolean };
}

const PATH = 'http.request.uri.path';
const quoted = (s: string) => [...s.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);

/** Whether a request for `path` matches a rule expression of one of the shapes EdgeRules writes. */
function matches(expression: string, path: string): boolean {
  const inner = expression.replace(/^\((.*)\)$/s, '$1').trim();
  if (inner === 'true') return true;
  return inner.split(' or ').some((clause) => {
    const c = clause.trim();
    let m = new RegExp(`^starts_with\\(${PATH}, "([^"]*)"\\)$`).exec(c);
    if (m) return path.startsWith(m[1]!);
    m = new RegExp(`^${PATH} eq "([^"]*)"$`).exec(c);
    if (m) return path === m[1];
    m = new RegExp(`^not ${PATH} in \\{((?: ?"[^"]*")+)\\}$`).exec(c);
    if (m) return !quoted(m[1]!).includes(path);
    throw new Error(`no interpretation for the rule expression clause ${c}`);
  });
}

const PRIVATE_ROUTES = ['/metrics', '/api/admin/tenants', '/api/admin/keys', '/', '/auth/login'];

for (const env of loadHetznerEnvironments()) {
  describe(`edge rules of ${env.name}`, () => {
    const doc = JSON.parse(readFileSync(join(repoRoot, 'dist/terraform', `${env.name}-edge`, 'cdk.tf.json'), 'utf8'));
    const rulesets = Object.values(doc.resource.cloudflare_ruleset as Record<string, { phase: string; rules: Rule[] }>);
    const phase = (name: string): Rule[] => rulesets.find((r) => r.phase === name)?.rules ?? [];
    const blocked = (path: string) =>
      phase('http_request_firewall_custom').some((r) => r.action === 'block' && matches(r.expression, path));
    const limitsOf = (path: string) => phase('http_ratelimit').filter((r) => matches(r.expression, path));
    const publicRoutes = [env.hub.websocketPath, ...HUB_HEALTH_PATHS];

    test('every public hub route passes the firewall, is rate-limited per address and never cached', () => {
      for (const path of publicRoutes) {
        assert.equal(blocked(path), false, `${path} is blocked`);
        const limits = limitsOf(path);
        assert.ok(limits.length > 0, `${path} has no rate limit`);
        for (const l of limits) assert.equal(l.action, 'block', path);
        const cache = phase('http_request_cache_settings').filter((r) => matches(r.expression, path));
        assert.deepEqual(
          cache.map((r) => r.action_parameters?.cache),
          [false],
          `${path} must bypass the cache`,
        );
      }
    });

    test('the private routes and every other path are blocked at the edge', () => {
      for (const path of PRIVATE_ROUTES) assert.equal(blocked(path), true, `${path} passes the edge`);
    });

    test('WebSocket upgrades are limited per address, sized for a fleet reconnecting behind one address', () => {
      const [limit, ...more] = limitsOf(env.hub.websocketPath);
      assert.equal(more.length, 0);
      const perMinute = (limit!.ratelimit!.requests_per_period * 60) / limit!.ratelimit!.period;
      assert.equal(perMinute, env.edge.websocketUpgradesPerMinute);
      assert.ok(perMinute >= HUB_CONNECTIONS_PER_ADDRESS, 'a fleet the hub admits behind one address must fit');
    });

    test('Authenticated Origin Pulls are on', () => {
      const settings = Object.values(doc.resource.cloudflare_authenticated_origin_pulls_settings ?? {});
      assert.deepEqual(
        settings.map((s: any) => s.enabled),
        [true],
      );
    });
  });
}

test("the edge's sizing follows the hub's connections per address", () => {
  assert.equal(HUB_CONNECTIONS_PER_ADDRESS, loadConfig({}).limits.maxConnectionsPerAddress);
});

test('the interpreter refuses an expression shape it does not know', () => {
  assert.throws(() => matches('(http.request.uri.path matches "^/ws")', '/ws'), /no interpretation/);
});
