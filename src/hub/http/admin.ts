import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { clientAddress } from '../net/client-address.ts';
import { HubError } from '../protocol/errors.ts';
import { isPlainText } from '../protocol/limits.ts';
import { secretsEqual } from '../services/api-keys.ts';
import type { Services } from '../services/services.ts';
import { HttpError, readJson, sendJson } from './respond.ts';

const ID = '([a-z]{2,4}_[A-Za-z0-9_-]{1,64})';
const ID_PATTERN = new RegExp(`^${ID}$`);

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly name: string;
  run(services: Services, params: string[], req: IncomingMessage, query: URLSearchParams): Promise<[number, unknown]>;
}

const name = z
  .string()
  .min(1)
  .max(100)
  .refine((v) => isPlainText(v) && v.trim() === v, 'must have no control characters or surrounding spaces');
const named = z.strictObject({ name });
const keyRequest = z.strictObject({ label: name.optional() });

/** A JSON body checked like the WebSocket payloads: every problem named by field, unknown fields refused. */
async function body<S extends z.ZodType>(req: IncomingMessage, schema: S): Promise<z.infer<S>> {
  const result = schema.safeParse(await readJson(req));
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 5).map((issue) => {
    const field = issue.path.map(String).join('.') || 'body';
    return issue.code === 'unrecognized_keys'
      ? `${field}: unknown field(s) ${issue.keys.join(', ')}`
      : `${field}: ${issue.message}`;
  });
  throw new HttpError(400, problems.join('; '));
}

const routes: Route[] = [
  {
    method: 'POST',
    pattern: /^\/api\/admin\/tenants$/,
    name: 'admin.tenants.create',
    run: async (s, _p, req) => [201, await s.accounts.createTenant((await body(req, named)).name)],
  },
  {
    method: 'GET',
    pattern: /^\/api\/admin\/tenants$/,
    name: 'admin.tenants.list',
    run: async (s) => [200, { tenants: await s.accounts.listTenants() }],
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/api/admin/tenants/${ID}/fleets$`),
    name: 'admin.fleets.create',
    run: async (s, [tenantId], req) => [201, await s.accounts.createFleet(tenantId!, (await body(req, named)).name)],
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/api/admin/tenants/${ID}/fleets$`),
    name: 'admin.fleets.list',
    run: async (s, [tenantId]) => [200, { fleets: await s.accounts.listFleets(tenantId!) }],
  },
  {
    method: 'POST',
    pattern: new RegExp(`^/api/admin/tenants/${ID}/fleets/${ID}/api-keys$`),
    name: 'admin.keys.create',
    run: async (s, [tenantId, fleetId], req) => {
      const label = (await body(req, keyRequest)).label ?? '';
      const key = await s.accounts.createApiKey(tenantId!, fleetId!, label);
      return [201, { ...key, tenantId, fleetId, label }];
    },
  },
  {
    method: 'DELETE',
    pattern: new RegExp(`^/api/admin/tenants/${ID}/api-keys/${ID}$`),
    name: 'admin.keys.revoke',
    run: async (s, [tenantId, keyId]) => {
      await s.accounts.revokeApiKey(tenantId!, keyId!);
      return [200, { id: keyId, revoked: true }];
    },
  },
  {
    method: 'GET',
    pattern: new RegExp(`^/api/admin/tenants/${ID}/agents$`),
    name: 'admin.agents.list',
    run: async (s, [tenantId], _req, query) => {
      const fleetId = query.get('fleetId') ?? undefined;
      if (fleetId !== undefined && !ID_PATTERN.test(fleetId))
        throw new HttpError(400, 'fleetId: must be a fleet id (flt_…)');
      const agents = await s.accounts.listAgents(tenantId!, fleetId);
      const online = new Map<string, Set<string>>();
      for (const fleet of new Set(agents.map((a) => a.fleetId))) {
        online.set(fleet, new Set((await s.presence.roster(fleet)).map((e) => e.agentId)));
      }
      return [200, { agents: agents.map((a) => ({ ...a, online: online.get(a.fleetId)?.has(a.id) ?? false })) }];
    },
  },
];

/** 429 with the wait, as the WebSocket's `rate_limited` error carries it. */
function tooMany(res: ServerResponse, error: HubError): void {
  const retryAfterMs = error.details.retryAfterMs ?? 1_000;
  res.setHeader('retry-after', String(Math.ceil(retryAfterMs / 1000)));
  sendJson(res, 429, { error: error.message, rule: error.details.rule, retryAfterMs });
}

/**
 * The operator's REST API. One bearer token from the environment guards it; without the token the
 * API is disabled rather than open. An address that keeps presenting a wrong token is refused
 * before the token is compared, and all admin requests together are rate limited.
 */
export async function handleAdmin(
  services: Services,
  req: IncomingMessage,
  res: ServerResponse,
  target: { path: string; query: URLSearchParams },
): Promise<string> {
  const route = routes.find((r) => r.pattern.test(target.path));
  const routeName = route?.name ?? 'admin.unknown';
  const address = clientAddress(req, services.config.trustedProxies, services.config.clientAddressHeader);
  try {
    const token = services.config.adminToken;
    if (token === undefined) throw new HttpError(503, 'the admin API is disabled: set HUB_ADMIN_TOKEN to enable it');
    await services.rateLimiter.authAllowed(address);
    const header = req.headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    if (!secretsEqual(presented, token)) {
      await services.rateLimiter.authFailed(address);
      throw new HttpError(401, 'Authorization: a valid Bearer admin token is required');
    }
    await services.rateLimiter.adminRequest();
    if (route === undefined) throw new HttpError(404, `no admin route ${target.path}`);
    const match = routes.find((r) => r.method === req.method && r.pattern.test(target.path));
    if (match === undefined) throw new HttpError(405, `${req.method} is not allowed on ${target.path}`);
    const params = match.pattern.exec(target.path)!.slice(1);
    const [status, reply] = await match.run(services, params, req, target.query);
    sendJson(res, status, reply);
  } catch (error) {
    if (error instanceof HttpError) sendJson(res, error.status, { error: error.message });
    else if (error instanceof HubError && error.code === 'rate_limited') tooMany(res, error);
    else if (error instanceof HubError) {
      sendJson(res, error.code === 'not_found' ? 404 : error.code === 'conflict' ? 409 : 400, {
        error: error.message,
      });
    } else {
      services.metrics.internalErrors.inc({ where: 'http' });
      services.log.error({ err: error, route: routeName }, 'admin request failed');
      sendJson(res, 500, { error: 'internal error' });
    }
  }
  return routeName;
}
