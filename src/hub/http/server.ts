import { createServer, type Server } from 'node:http';
import type { Services } from '../services/services.ts';
import { handleAdmin } from './admin.ts';
import { sendJson } from './respond.ts';

export interface Readiness {
  /** True once shutdown has begun. */
  readonly draining: () => boolean;
}

const PROBE_TIMEOUT_MS = 2_000;

/** Health, readiness, metrics and the admin API; WebSocket upgrades are attached separately. */
export function createHttpServer(services: Services, readiness: Readiness): Server {
  const server = createServer((req, res) => {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://hub');
    const observe = (route: string) =>
      services.metrics.httpDuration.observe(
        { route, status: String(res.statusCode) },
        (performance.now() - started) / 1000,
      );
    const route = async (): Promise<string> => {
      if (url.pathname === '/api/health' && req.method === 'GET') {
        sendJson(res, 200, { status: 'ok', replica: services.config.replicaId });
        return 'health';
      }
      if (url.pathname === '/api/ready' && req.method === 'GET') {
        const checks = await readinessChecks(services, readiness);
        const ready = Object.values(checks).every((c) => c === 'ok');
        sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks });
        return 'ready';
      }
      if (url.pathname === '/metrics' && req.method === 'GET') {
        const text = await services.metrics.registry.metrics();
        res.writeHead(200, { 'content-type': services.metrics.registry.contentType });
        res.end(text);
        return 'metrics';
      }
      if (url.pathname.startsWith('/api/admin/')) return handleAdmin(services, req, res, url);
      sendJson(res, 404, { error: `no route ${req.method} ${url.pathname}` });
      return 'unknown';
    };
    route()
      .then(observe)
      .catch((error: unknown) => {
        services.log.error({ err: error }, 'HTTP request failed');
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
        observe('error');
      });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return server;
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
  return { database, bus, draining: readiness.draining() ? 'draining' : 'ok' };
}
