/*
 * Quick benchmark of one hub in server mode on this machine: starts Postgres, Redis and a hub process
 * on loopback, holds BENCH_AGENTS connections, and measures direct-message and broadcast latency
 * (send to receipt, client clocks in this process). Prints the figures and writes them to
 * reports/hub-bench.json. Not a load test: k6 scenarios do that against real environments.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres, startRedis } from '../../scripts/lib/local-services.ts';
import { HubClient } from './client/client.ts';
import { limitsLifted } from './config.ts';
import { spawnHub } from './listening.ts';

const AGENTS = Number(process.env.BENCH_AGENTS ?? 1000);
const DMS = Number(process.env.BENCH_DMS ?? 2000);
const DM_CONCURRENCY = Number(process.env.BENCH_DM_CONCURRENCY ?? 20);
const BROADCASTS = Number(process.env.BENCH_BROADCASTS ?? 20);
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef0123456789';
const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    count: sorted.length,
    p50Ms: round(percentile(sorted, 50)),
    p95Ms: round(percentile(sorted, 95)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted.at(-1) ?? NaN),
  };
}

async function admin(base: string, path: string, body: object): Promise<{ id: string; key: string }> {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 201) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as { id: string; key: string };
}

async function main(): Promise<void> {
  console.log(`starting Postgres, Redis and a hub (server mode) on 127.0.0.1 ...`);
  const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  const { child: hub, listening } = spawnHub({
    DATABASE_URL: postgres.url,
    REDIS_URL: redis.url,
    HUB_ADMIN_TOKEN: ADMIN_TOKEN,
    ...limitsLifted(),
    HUB_DB_POOL_SIZE: '20',
  });
  const clients: HubClient[] = [];
  try {
    const { port, adminPort } = await listening;
    const base = `http://127.0.0.1:${adminPort}`;
    const url = `ws://127.0.0.1:${port}/ws`;
    const tenant = await admin(base, '/api/admin/tenants', { name: 'bench' });
    const fleet = await admin(base, `/api/admin/tenants/${tenant.id}/fleets`, { name: 'bench' });
    const { key } = await admin(base, `/api/admin/tenants/${tenant.id}/fleets/${fleet.id}/api-keys`, {});

    const connectStarted = performance.now();
    for (let i = 0; i < AGENTS; i += 50) {
      const batch = Array.from({ length: Math.min(50, AGENTS - i) }, (_, j) => {
        const client = new HubClient({
          urls: [url],
          apiKey: key,
          agent: { name: `agent-${i + j}` },
          requestTimeoutMs: 30_000,
        });
        clients.push(client);
        return client.connect();
      });
      await Promise.all(batch);
    }
    const connectSeconds = (performance.now() - connectStarted) / 1000;
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const held = Number(/^hub_connected_agents\{[^}]*\} (\d+)$/m.exec(metrics)?.[1] ?? NaN);
    console.log(`${held} connections held (connected in ${connectSeconds.toFixed(1)} s)`);

    // Direct messages: pairs (i, i + half), DM_CONCURRENCY in flight.
    const dmLatencies: number[] = [];
    for (const client of clients) {
      client.on('dm', (m) => dmLatencies.push(performance.now() - (m.body as { t: number }).t));
    }
    const half = Math.max(1, Math.floor(clients.length / 2));
    let next = 0;
    const dmStarted = performance.now();
    await Promise.all(
      Array.from({ length: DM_CONCURRENCY }, async () => {
        for (let n = next++; n < DMS; n = next++) {
          const from = clients[n % half]!;
          const to = clients[(n % half) + half] ?? clients[0]!;
          await from.sendDm(to.identity.agentId, { n, t: performance.now() });
        }
      }),
    );
    const dmSeconds = (performance.now() - dmStarted) / 1000;
    for (let waited = 0; dmLatencies.length < DMS && waited < 10_000; waited += 50)
      await new Promise((r) => setTimeout(r, 50));

    // Broadcasts: one agent to the whole fleet; every receipt is a sample.
    const bcLatencies: number[] = [];
    let currentStart = 0;
    for (const client of clients.slice(1))
      client.on('event', (name) => name === 'activity' && bcLatencies.push(performance.now() - currentStart));
    for (let i = 0; i < BROADCASTS; i++) {
      const expected = bcLatencies.length + clients.length - 1;
      currentStart = performance.now();
      await clients[0]!.request('activity.broadcast', { data: { i } });
      for (let waited = 0; bcLatencies.length < expected && waited < 10_000; waited += 5)
        await new Promise((r) => setTimeout(r, 5));
    }

    const report = {
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
      setup: { mode: 'server', replicas: 1, postgres: 'local', redis: 'local', agents: AGENTS },
      connections: { held, connectSeconds: Math.round(connectSeconds * 10) / 10 },
      dm: { ...summary(dmLatencies), sent: DMS, concurrency: DM_CONCURRENCY, perSecond: Math.round(DMS / dmSeconds) },
      broadcast: { ...summary(bcLatencies), broadcasts: BROADCASTS, recipientsEach: clients.length - 1 },
    };
    console.log(JSON.stringify(report, null, 2));
    mkdirSync(join(repoRoot, 'reports'), { recursive: true });
    writeFileSync(join(repoRoot, 'reports', 'hub-bench.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.log(`written to reports/hub-bench.json`);
  } finally {
    for (const client of clients) client.close();
    hub.kill('SIGTERM');
    await new Promise((r) => hub.once('exit', r));
    await Promise.all([postgres.stop(), redis.stop()]);
  }
}

await main();
