import type { IncomingMessage, ServerResponse } from 'node:http';
import { HubError } from '../protocol/errors.ts';
import { secretsEqual } from '../services/api-keys.ts';
import type { Services } from '../services/services.ts';
import { HttpError, readJson, sendJson } from './respond.ts';

const ID = '([a-z]{2,4}_[A-Za-z0-9_-]{1,64})';

interface Route {
  readonly method: string;
  readonly pattern: RegExp;
  readonly name: string;
  run(services: Services, params: string[], req: IncomingMessage, url: URL): Promise<[number, unknown]>;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function requiredName(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > 100 ||
    CONTROL.test(value) ||
    value.trim() !== value
  ) {
    throw new HttpError(
      400,
      `${field}: must be a string of 1-100 characters without control characters or surrounding spaces`,
    );
  }
  return value;
}

const routes: Route[] = [
  {
    method: 'POST',
    pattern: /^\/api\/admin\/tenants$/,
    name: 'admin.tenants.create',
    run: async (s, _p, req) => [201, await s.accounts.createTenant(requiredName(await readJson(req), 'name'))],
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
    run: async (s, [tenantId], req) => [
      201,
      await s.accounts.createFleet(tenantId!, requiredName(await readJson(req), 'name')),
    ],
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
      const body = await readJson(req);
      const label = body.label === undefined ? '' : requiredName(body, 'label');
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
    run: async (s, [tenantId], _req, url) => {
      const fleetId = url.searchParams.get('fleetId') ?? undefined;
      const agents = await s.accounts.listAgents(tenantId!, fleetId);
      const online = new Map<string, Set<string>>();
      for (const fleet of new Set(agents.map((a) => a.fleetId))) {
        online.set(fleet, new Set((await s.presence.roster(fleet)).map((e) => e.agentId)));
      }
      return [200, { agents: agents.map((a) => ({ ...a, online: online.get(a.fleetId)?.has(a.id) ?? false })) }];
    },
  },
];

/**
 * The operator's REST API. One bearer token from the environment guards it; without the token the
 * API is disabled rather than open.
 */
export async function handleAdmin(
  services: Services,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<string> {
  const route = routes.find((r) => r.pattern.test(url.pathname));
  const name = route?.name ?? 'admin.unknown';
  try {
    const token = services.config.adminToken;
    if (token === undefined) throw new HttpError(503, 'the admin API is disabled: set HUB_ADMIN_TOKEN to enable it');
    const header = req.headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    if (!secretsEqual(presented, token))
      throw new HttpError(401, 'Authorization: a valid Bearer admin token is required');
    if (route === undefined) throw new HttpError(404, `no admin route ${url.pathname}`);
    const match = routes.find((r) => r.method === req.method && r.pattern.test(url.pathname));
    if (match === undefined) throw new HttpError(405, `${req.method} is not allowed on ${url.pathname}`);
    const params = match.pattern.exec(url.pathname)!.slice(1);
    const [status, body] = await match.run(services, params, req, url);
    sendJson(res, status, body);
  } catch (error) {
    if (error instanceof HttpError) sendJson(res, error.status, { error: error.message });
    else if (error instanceof HubError) {
      sendJson(res, error.code === 'not_found' ? 404 : error.code === 'conflict' ? 409 : 400, {
        error: error.message,
      });
    } else {
      services.log.error({ err: error, route: name }, 'admin request failed');
      sendJson(res, 500, { error: 'internal error' });
    }
  }
  return name;
}
