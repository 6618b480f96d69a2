/*
 * What a load test sends its traffic to. `local` starts a stack on loopback; `--target` points at
 * one already running (N runner processes sharing one stack stand in for the pods of a Job); a
 * deployed environment is hit at its public hostname, or at `--target` (the in-cluster Service),
 * and only when the operator named it with --env (and, for an environment that asks for it, --yes).
 * Thresholds always come from the named environment's SLOs. The planning is pure so that every rule
 * is tested without sending a packet; opening the target is separate.
 */
import type { Environment } from '../../environments/index.ts';
import { provisionTenant } from '../../runbooks/lib/admin-api.ts';
import { sleep } from './bounded.ts';
import { WHOLE_RUN, type Slice } from './slices.ts';
import type { Target } from './stack.ts';

/** Where a key for the agents comes from: given, or provisioned through the hub's admin API. */
export type ApiKeySource =
  | { readonly kind: 'given'; readonly apiKey: string }
  | { readonly kind: 'admin'; readonly adminUrl: string; readonly adminToken: string };

export type TargetPlan =
  { readonly kind: 'local-stack' } | { readonly kind: 'remote'; readonly wsUrl: string; readonly apiKey: ApiKeySource };

export interface TargetRequest {
  readonly env: Environment;
  /** `--target`: a ws:// or wss:// URL. */
  readonly target?: string;
  /** `--admin-url`: the hub's admin listener, e.g. a `kubectl port-forward` on loopback. */
  readonly adminUrl?: string;
  /** `--yes`: the operator confirmed loading an environment that asks for confirmation. */
  readonly confirmed?: boolean;
  /** Picks this slice's key when several are given (the hub limits connections and agents per key). */
  readonly slice?: Slice;
}

/** Environment variables a remote target reads its secrets from; neither is ever printed or written. */
export const SECRET_ENV = { apiKey: 'LOADTEST_API_KEY', adminToken: 'HUB_ADMIN_TOKEN' } as const;

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);

export function isLoopback(url: URL): boolean {
  return LOOPBACK_HOSTS.has(url.hostname) || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
}

function parseUrl(text: string, flag: string, protocols: readonly string[]): URL {
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${flag} must be a URL (got "${text}")`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new Error(
      `${flag} must be a ${protocols.map((p) => p.replace(':', '://')).join(' or ')} URL (got "${text}")`,
    );
  }
  return url;
}

/** The public WebSocket URL of a deployed environment: its hub hostname behind Cloudflare. */
export function publicWsUrl(env: Extract<Environment, { platform: 'hetzner' }>): string {
  return `wss://${env.dns.hubHostname}${env.hub.websocketPath}`;
}

function apiKeySource(request: TargetRequest, processEnv: NodeJS.ProcessEnv): ApiKeySource {
  const given = processEnv[SECRET_ENV.apiKey];
  if (request.adminUrl === undefined) {
    if (!given) {
      throw new Error(
        `a remote target needs an API key: set ${SECRET_ENV.apiKey}, or give --admin-url (with ${SECRET_ENV.adminToken} set) to provision one`,
      );
    }
    // One key for every slice, or one per slice (comma-separated), taken by the slice's index.
    const keys = given.split(',').map((key) => key.trim());
    const slice = request.slice ?? WHOLE_RUN;
    if (keys.length > 1 && keys.length < slice.count) {
      throw new Error(
        `${SECRET_ENV.apiKey} holds ${keys.length} keys for ${slice.count} slices: give one key, or one per slice`,
      );
    }
    return { kind: 'given', apiKey: keys.length === 1 ? keys[0]! : keys[slice.index]! };
  }
  if (given) throw new Error(`give ${SECRET_ENV.apiKey} or --admin-url, not both`);
  const admin = parseUrl(request.adminUrl, '--admin-url', ['http:', 'https:']);
  // The admin token travels in a header: in clear text only to a port-forward on this machine.
  if (admin.protocol === 'http:' && !isLoopback(admin)) {
    throw new Error(
      `--admin-url ${request.adminUrl}: plain http only to loopback (kubectl port-forward svc/hub 9090); otherwise https`,
    );
  }
  const adminToken = processEnv[SECRET_ENV.adminToken];
  if (!adminToken) throw new Error(`--admin-url needs the admin token in ${SECRET_ENV.adminToken}`);
  return { kind: 'admin', adminUrl: admin.origin, adminToken };
}

/** Which target a run uses, with every rule checked; throws with a message naming the flag. */
export function planTarget(request: TargetRequest, processEnv: NodeJS.ProcessEnv = process.env): TargetPlan {
  const { env } = request;
  const target = request.target === undefined ? undefined : parseUrl(request.target, '--target', ['ws:', 'wss:']);
  if (env.platform === 'laptop') {
    if (request.adminUrl !== undefined && target === undefined) {
      throw new Error('--admin-url needs --target: the local stack provisions its own key');
    }
    if (target === undefined) return { kind: 'local-stack' };
    if (!isLoopback(target)) {
      throw new Error(
        `--target ${request.target}: --env ${env.name} is a laptop environment, which allows loopback targets only; to load a deployed environment, name it with --env`,
      );
    }
  } else if (env.loadtest.confirm && !request.confirmed) {
    const wsUrl = target?.href ?? publicWsUrl(env);
    throw new Error(`--env ${env.name} asks for confirmation: add --yes to send load to ${wsUrl}`);
  }
  const wsUrl = target?.href ?? (env.platform === 'hetzner' ? publicWsUrl(env) : '');
  return { kind: 'remote', wsUrl, apiKey: apiKeySource(request, processEnv) };
}

export interface OpenedTarget extends Target {
  stop(): Promise<void>;
}

/**
 * Starts the local stack, or provisions a key on the remote target (tenant named after the run).
 * A remote target's replicas are unknown: `replicas` is empty; its admin API is the one of
 * `--admin-url`, if any.
 */
export async function openTarget(plan: TargetPlan, runId: string, log: (line: string) => void): Promise<OpenedTarget> {
  if (plan.kind === 'local-stack') {
    // Loaded only here: a runner in a pod never starts a stack, and its bundle never initializes one.
    const { startLocalStack } = await import('./stack.ts');
    return startLocalStack(log);
  }
  log(`target: ${plan.wsUrl}`);
  const ws = new URL(plan.wsUrl);
  const remote = {
    wsUrl: plan.wsUrl,
    httpUrl: `${ws.protocol === 'wss:' ? 'https:' : 'http:'}//${ws.host}`,
    replicas: [],
    stop: async () => undefined,
  };
  if (plan.apiKey.kind === 'given') return { ...remote, apiKey: plan.apiKey.apiKey, adminUrls: [], adminToken: '' };
  const { adminUrl, adminToken } = plan.apiKey;
  log(`target: provisioning a tenant through ${adminUrl}`);
  const { apiKey } = await provisionTenant(adminUrl, adminToken, `loadtest-${runId}`);
  return { ...remote, apiKey, adminUrls: [adminUrl], adminToken };
}

/** The farthest ahead (or behind) a shared start may be: a typo must not park a Job for hours. */
export const MAX_START_DISTANCE_MS = 10 * 60_000;

/** `--start-at`: an ISO time within ten minutes of `now`, either way. */
export function parseStartAt(text: string, now = new Date()): Date {
  const at = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(at.getTime())) {
    throw new Error(`--start-at must be an ISO time such as 2026-12-01T10:00:00Z (got "${text}")`);
  }
  const distance = at.getTime() - now.getTime();
  if (Math.abs(distance) > MAX_START_DISTANCE_MS) {
    const when = distance > 0 ? 'ahead' : 'ago';
    throw new Error(
      `--start-at ${text} is ${Math.round(Math.abs(distance) / 60_000)} min ${when}; it must be within ${MAX_START_DISTANCE_MS / 60_000} min of now (${now.toISOString()})`,
    );
  }
  return at;
}

/** Waits for the shared start, printing a countdown; a slice that is late says by how much. */
export async function waitForStart(
  at: Date,
  print: (line: string) => void,
  signal?: AbortSignal,
  everyMs = 10_000,
): Promise<void> {
  let left = at.getTime() - Date.now();
  if (left <= 0) {
    print(`start: ${(-left / 1000).toFixed(1)}s after the shared start ${at.toISOString()}`);
    return;
  }
  while (left > 0 && !signal?.aborted) {
    print(`start: in ${Math.ceil(left / 1000)}s (${at.toISOString()})`);
    await sleep(Math.min(left, everyMs), signal);
    left = at.getTime() - Date.now();
  }
}
