/*
 * Hub replicas for the benchmarks: local Postgres and Redis on loopback, then each hub as its own
 * process (server mode, per-client limits lifted: every agent comes from this one generator with one
 * key), its log in a file so a busy generator never blocks it, and one provisioned fleet.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { newAdminToken, provisionTenant } from '../../runbooks/lib/hub-process.ts';
import { startPostgres, startRedis } from '../lib/local-services.ts';
import { limitsLifted } from '../../src/hub/config.ts';
import { spawnHub } from '../../src/hub/listening.ts';

export interface BenchHub {
  readonly wsUrl: string;
  readonly adminUrl: string;
  readonly process: ChildProcess;
  /** Resident memory of the hub process now, from /proc. */
  rssBytes(): number;
}

export interface BenchHubs {
  readonly hubs: BenchHub[];
  readonly apiKey: string;
  readonly adminToken: string;
  readonly redisUrl: string;
  stop(): Promise<void>;
}

export interface HubsOptions {
  readonly count: number;
  /** Node arguments for the hub with this index (e.g. `--inspect` for the memory row). */
  readonly nodeArgs?: (index: number) => readonly string[];
  /** Hub settings beside the lifted limits. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Postgres as in production, fsync and synchronous commit on, so a commit waits for the disk. Off
   * by default, as for every local test server.
   */
  readonly durable?: boolean;
}

/** CPU time (user and system) a process has used so far, in milliseconds. */
export function cpuMsOf(pid: number): number {
  // Fields after the command name, which is in parentheses and may hold spaces: utime, stime are 14, 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

export function rssOf(pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (line === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(line[1]) * 1024;
}

/** BENCH_CPU_PROF=<dir>: every hub writes a CPU profile there when it stops (open it in DevTools). */
function profiling(): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  return dir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

export async function startHubs(options: HubsOptions): Promise<BenchHubs> {
  const [postgres, redis] = await Promise.all([startPostgres({ fsync: options.durable === true }), startRedis()]);
  const logs = mkdtempSync(join(tmpdir(), 'rf-bench-hubs-'));
  const adminToken = newAdminToken();
  const hubs: BenchHub[] = [];
  const stop = async () => {
    await Promise.all(
      hubs.map(
        (hub) =>
          new Promise<void>((resolve) => {
            if (hub.process.exitCode !== null) return resolve();
            hub.process.once('exit', () => resolve());
            hub.process.kill('SIGTERM');
            setTimeout(() => hub.process.kill('SIGKILL'), 15_000).unref();
          }),
      ),
    );
    await Promise.all([postgres.stop(), redis.stop()]);
    rmSync(logs, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < options.count; i++) {
      const { child, listening } = spawnHub(
        {
          DATABASE_URL: postgres.url,
          REDIS_URL: redis.url,
          HUB_ADMIN_TOKEN: adminToken,
          HUB_REPLICA_ID: `bench-hub-${i + 1}`,
          HUB_SHUTDOWN_GRACE_MS: '5000',
          ...limitsLifted(),
          HUB_MAX_CONNECTIONS: '100000',
          ...options.env,
        },
        { nodeArgs: [...(options.nodeArgs?.(i) ?? []), ...profiling()], logFile: join(logs, `hub-${i + 1}.log`) },
      );
      const { port, adminPort } = await listening;
      hubs.push({
        wsUrl: `ws://127.0.0.1:${port}/ws`,
        adminUrl: `http://127.0.0.1:${adminPort}`,
        process: child,
        rssBytes: () => rssOf(child.pid!),
      });
    }
    const tenancy = await provisionTenant(hubs[0]!.adminUrl, adminToken, `bench-${Date.now()}`);
    return { hubs, apiKey: tenancy.apiKey, adminToken, redisUrl: redis.url, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
