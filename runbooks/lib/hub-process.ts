/*
 * Hub processes for drills: `src/hub/main.ts` in server mode, as `npm run hub` runs it, plus the
 * admin API calls (admin-api.ts) that give the drill's agents a tenant, a fleet and an API key.
 */
import { randomBytes } from 'node:crypto';
import { $, expBackoff, retry, type ProcessPromise } from 'zx';
import { repoRoot } from '../../scripts/lib/tools.ts';
import { listeningPorts, type ListeningPorts } from '../../src/hub/listening.ts';

// Kept importable from here, where drills and benches look for it.
export { provisionTenant, type Tenancy } from './admin-api.ts';

export interface HubProcess {
  readonly name: string;
  readonly port: number;
  readonly httpUrl: string;
  readonly wsUrl: string;
  /** The operations listener: the admin API and /metrics. */
  readonly adminUrl: string;
  /** Sends a signal and resolves with the exit code (null when killed by the signal). */
  signal(signal: 'SIGTERM' | 'SIGKILL'): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

export interface HubProcessOptions {
  readonly name: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly adminToken: string;
  /** Extra hub settings (HUB_*), e.g. rate limits or the drain delay. */
  readonly env?: Readonly<Record<string, string>>;
  readonly startTimeoutMs?: number;
}

/** A token for the admin API, random per drill and never printed. */
export const newAdminToken = () => randomBytes(32).toString('base64url');

export async function startHubProcess(options: HubProcessOptions): Promise<HubProcess> {
  const env = {
    ...process.env,
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    HUB_ADMIN_TOKEN: options.adminToken,
    HUB_HOST: '127.0.0.1',
    HUB_PORT: '0',
    HUB_ADMIN_PORT: '0',
    HUB_REPLICA_ID: options.name,
    LOG_LEVEL: 'info',
    ...options.env,
  };
  const child: ProcessPromise = $({
    cwd: repoRoot,
    env,
    quiet: true,
    nothrow: true,
  })`${process.execPath} --import tsx src/hub/main.ts`;
  let running = true;
  const exited = (async (): Promise<number | null> => {
    const { exitCode } = await child;
    running = false;
    return exitCode;
  })();
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const ports = await new Promise<ListeningPorts>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(`hub ${options.name} did not listen within ${options.startTimeoutMs ?? 60_000} ms: ${stderr}`),
        ),
      options.startTimeoutMs ?? 60_000,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      for (let nl = stdout.indexOf('\n'); nl >= 0; nl = stdout.indexOf('\n')) {
        const line = stdout.slice(0, nl);
        stdout = stdout.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        const listening = listeningPorts(line);
        if (listening !== undefined) {
          clearTimeout(timer);
          resolve(listening);
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`hub ${options.name} exited with ${code} before listening: ${stderr}`));
    });
  });
  return {
    name: options.name,
    port: ports.port,
    httpUrl: `http://127.0.0.1:${ports.port}`,
    wsUrl: `ws://127.0.0.1:${ports.port}/ws`,
    adminUrl: `http://127.0.0.1:${ports.adminPort}`,
    exited,
    async signal(signal) {
      if (running) await child.kill(signal);
      return exited;
    },
  };
}

/** Resolves once `GET /api/ready` answers 200 (Postgres and Redis reachable, not draining). */
export async function waitReady(httpUrl: string, attempts = 60): Promise<void> {
  await retry(attempts, expBackoff('1s', '20ms'), async () => {
    const response = await fetch(`${httpUrl}/api/ready`);
    if (response.status !== 200) throw new Error(`${httpUrl}/api/ready answered ${response.status}`);
  });
}
