import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { requestTarget } from '../net/client-address.ts';
import type { Services } from '../services/services.ts';
import { handleAdmin } from './admin.ts';
import { sendJson } from './respond.ts';

export interface Readiness {
  /** True once shutdown has begun. */
  readonly draining: () => boolean;
  /** Why the database cannot be served yet (in recovery, migrating), or undefined when it can. */
  readonly primary: () => string | undefined;
}

type Target = NonNullable<ReturnType<typeof requestTarget>>;
/** Answers a request if it is one of the listener's routes; returns the route name for metrics. */
type Router = (req: IncomingMessage, res: ServerResponse, target: Target) => Promise<string | undefined>;

const PROBE_TIMEOUT_MS = 2_000;

/**
 * The public listener: WebSocket upgrades (attached by the gateway) and the health routes load
 * balancers probe. Nothing else is served here, so nothing else can be reached from the internet.
 */
export function createPublicServer(services: Services, readiness: Readiness): Server {
  return listener(services, (req, res, target) => healthRoutes(services, readiness, req, res, target));
}

/** The operations listener: health, `/metrics` and the admin API, for the cluster network only. */
export function createOperationsServer(services: Services, readiness: Readiness): Server {
  return listener(services, async (req, res, target) => {
    const health = await healthRoutes(services, readiness, req, res, target);
    if (health !== undefined) return health;
    if (target.path === '/metrics' && req.method === 'GET') {
      const text = await services.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': services.metrics.registry.contentType });
      res.end(text);
      return 'metrics';
    }
    if (!target.path.startsWith('/api/admin/')) return undefined;
    // The admin API writes; on a standby it would only fail (and count as internal errors).
    const notPrimary = readiness.primary();
    if (notPrimary !== undefined) {
      sendJson(res, 503, { error: notPrimary });
      return 'admin.standby';
    }
    return handleAdmin(services, req, res, target);
  });
}

function listener(services: Services, router: Router): Server {
  const server = createServer((req, res) => {
    const started = performance.now();
    const observe = (route: string) =>
      services.metrics.httpDuration.observe(
        { route, status: String(res.statusCode) },
        (performance.now() - started) / 1000,
      );
    const target = requestTarget(req.url);
    if (target === undefined) {
      sendJson(res, 400, { error: 'the request target must be a path (origin-form, e.g. /api/ready)' });
      return observe('invalid');
    }
    router(req, res, target)
      .then((route) => {
        if (route !== undefined) return observe(route);
        sendJson(res, 404, { error: `no route ${req.method} ${target.path}` });
        observe('unknown');
      })
      .catch((error: unknown) => {
        services.metrics.internalErrors.inc({ where: 'http' });
        services.log.error({ err: error }, 'HTTP request failed');
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
        else res.destroy();
        observe('error');
      });
  });
  // Malformed requests and resets before a request is complete: answer 400 if the socket still
  // can be written, and never let the socket's error escape.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (error.code !== 'ECONNRESET' && socket.writable) {
      const status = error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    } else {
      socket.destroy();
    }
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return server;
}

async function healthRoutes(
  services: Services,
  readiness: Readiness,
  req: IncomingMessage,
  res: ServerResponse,
  target: Target,
): Promise<string | undefined> {
  if (req.method !== 'GET') return undefined;
  if (target.path === '/api/health') {
    sendJson(res, 200, { status: 'ok', replica: services.config.replicaId });
    return 'health';
  }
  if (target.path === '/api/ready') {
    const checks = await readinessChecks(services, readiness);
    const ready = Object.values(checks).every((c) => c === 'ok');
    sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks });
    return 'ready';
  }
  return undefined;
}

async function readinessChecks(services: Services, readiness: Readiness): Promise<Record<string, string>> {
  const probe = async (ping: () => Promise<void>) => {
    try {
      await ping();
      return 'ok';
    } catch (error) {
      return error instanceof Error ? error.message : 'failed';
    }
  };
  const [database, bus] = await Promise.all([
    probe(() => services.db.ping(PROBE_TIMEOUT_MS)),
    probe(() => services.bus.ping(PROBE_TIMEOUT_MS)),
  ]);
  return {
    database,
    bus,
    primary: readiness.primary() ?? 'ok',
    draining: readiness.draining() ? 'draining' : 'ok',
  };
}
