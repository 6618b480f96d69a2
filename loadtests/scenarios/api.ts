/*
 * The hub's HTTP routes at a constant arrival rate: the public health routes through the load
 * balancer, and the admin API's read routes on each hub's operations listener with the admin token.
 * Setup provisions tenants (each a fleet, a key and a few connected agents) so the listings have
 * something to list. As k6 does, `http_req_duration` covers the whole response, body included, and
 * `http_req_failed` counts errors and statuses outside 200-399.
 */
import { connectMany, type Agent } from '../lib/agents.ts';
import type { IterationContext } from '../lib/executors.ts';
import type { Tags } from '../lib/metrics.ts';
import type { Registry } from '../lib/registry.ts';
import type { Profile, SetupContext, Slo } from '../lib/scenario.ts';
import { agentNames } from '../lib/slices.ts';
import type { Target } from '../lib/stack.ts';
import { provisionOwnTenant, type OwnTenancy } from '../lib/tenancy.ts';

const SIZES = {
  smoke: { tenants: 3, agentsPerTenant: 2, rate: 20, duration: '20s' },
  full: { tenants: 20, agentsPerTenant: 5, rate: 100, duration: '2m' },
} as const;
const REQUEST_TIMEOUT_MS = 5_000;

export function options(slo: Slo, profile: Profile) {
  const size = SIZES[profile];
  return {
    scenarios: {
      api: {
        executor: 'constant-arrival-rate' as const,
        exec: 'request',
        rate: size.rate,
        timeUnit: '1s',
        duration: size.duration,
        preAllocatedVUs: size.rate,
        maxVUs: size.rate * 5,
        gracefulStop: '10s',
      },
    },
    thresholds: {
      http_req_duration: [`p(95)<${slo.apiP95Ms}`],
      http_req_failed: [`rate<${slo.maxErrorRate}`],
      checks: ['rate>0.99'],
    },
  };
}

interface Tenant extends OwnTenancy {
  readonly agents: readonly Agent[];
}

interface Data {
  readonly target: Target;
  readonly tenants: readonly Tenant[];
  readonly registry: Registry;
}

/** One request of a route: where it goes, and what its answer must hold beside status 200. */
interface Request {
  readonly route: string;
  readonly url: string;
  readonly admin: boolean;
  holds(body: unknown): boolean;
}

const list = (body: unknown, key: string): { id: string; online?: boolean }[] =>
  ((body as Record<string, unknown> | undefined)?.[key] as { id: string; online?: boolean }[] | undefined) ?? [];

/** The routes, taken in turn; the admin ones go to each hub's listener in turn. */
const ROUTES: readonly ((data: Data, tenant: Tenant, adminUrl: string) => Request)[] = [
  ({ target }) => ({
    route: 'health',
    url: `${target.httpUrl}/api/health`,
    admin: false,
    holds: (body) => (body as { status?: unknown } | undefined)?.status === 'ok',
  }),
  ({ target }) => ({
    route: 'ready',
    url: `${target.httpUrl}/api/ready`,
    admin: false,
    holds: (body) => (body as { status?: unknown } | undefined)?.status === 'ready',
  }),
  (data, _tenant, adminUrl) => ({
    route: 'admin.tenants.list',
    url: `${adminUrl}/api/admin/tenants`,
    admin: true,
    holds: (body) => {
      const ids = new Set(list(body, 'tenants').map((t) => t.id));
      return data.tenants.every((t) => ids.has(t.tenantId));
    },
  }),
  (_data, tenant, adminUrl) => ({
    route: 'admin.fleets.list',
    url: `${adminUrl}/api/admin/tenants/${tenant.tenantId}/fleets`,
    admin: true,
    holds: (body) => list(body, 'fleets').some((f) => f.id === tenant.fleetId),
  }),
  (_data, tenant, adminUrl) => ({
    route: 'admin.agents.list',
    url: `${adminUrl}/api/admin/tenants/${tenant.tenantId}/agents`,
    admin: true,
    holds: (body) => {
      const agents = list(body, 'agents');
      return agents.length === tenant.agents.length && agents.every((a) => a.online === true);
    },
  }),
];

export async function setup({ target, registry, profile, runId }: SetupContext): Promise<Data> {
  const size = SIZES[profile];
  if (target.adminUrls.length === 0) throw new Error('api: the target has no admin API to load');
  const tenants: Tenant[] = [];
  try {
    for (let i = 0; i < size.tenants; i++) {
      const own = await provisionOwnTenant(target, `lt-api-${runId}-${i}`);
      const agents = await connectMany(own.target, agentNames(`lt-api-${i}`, runId, size.agentsPerTenant));
      tenants.push({ ...own, agents });
    }
  } catch (error) {
    for (const agent of tenants.flatMap((t) => t.agents)) agent.close();
    throw error;
  }
  return { target, tenants, registry };
}

function requestFor(iteration: number, data: Data): Request & { tags: Tags } {
  const { target, tenants } = data;
  const hub = Math.floor(iteration / ROUTES.length) % target.adminUrls.length;
  const request = ROUTES[iteration % ROUTES.length]!(
    data,
    tenants[iteration % tenants.length]!,
    target.adminUrls[hub]!,
  );
  // The hub behind the load balancer is not known beforehand; an admin route's is.
  const replica = request.admin ? target.replicas[hub] : undefined;
  return { ...request, tags: { route: request.route, ...(replica === undefined ? {} : { replica }) } };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export async function request(ctx: IterationContext, data: Data): Promise<void> {
  const { registry } = data;
  const { url, admin, tags, holds } = requestFor(ctx.iteration, data);
  const headers: Record<string, string> = admin ? { authorization: `Bearer ${data.target.adminToken}` } : {};
  const started = performance.now();
  let status = 0;
  let text = '';
  try {
    const response = await fetch(url, {
      headers,
      signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
    });
    status = response.status;
    text = await response.text();
    registry.trend('http_req_duration').add(performance.now() - started, { ...ctx.tags, ...tags, status: `${status}` });
  } catch (error) {
    ctx.check(error, { 'status is 200': () => false }, tags);
    throw error;
  } finally {
    registry.rate('http_req_failed').add(status < 200 || status >= 400, { ...ctx.tags, ...tags });
  }
  ctx.check(status, { 'status is 200': (s) => s === 200 }, tags);
  if (status === 200) ctx.check(parseJson(text), { 'answer as expected': holds }, tags);
}

export const exec = { request };

export async function teardown(data: Data): Promise<void> {
  for (const agent of data.tenants.flatMap((t) => t.agents)) agent.close();
}

export const progressTrend = 'http_req_duration';
