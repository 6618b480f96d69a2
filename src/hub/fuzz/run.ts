/*
 * `npm run hub:fuzz`: a bounded, seeded, randomized attack on one hub process in server mode (real
 * Postgres and Redis on loopback) while well-behaved agents exchange direct messages. Fuzzers connect
 * from their own loopback addresses with the hub's default limits, send hostile frames and hostile
 * raw HTTP, and the run checks at the end: the hub is alive and ready, nothing failed internally,
 * every acknowledged DM was delivered exactly once in order, and the hub's peak RSS stayed within the
 * bound. Prints progress, writes reports/hub-fuzz/report.{json,md}, exits 1 when a check fails.
 *
 *   FUZZ_SECONDS (default 180), FUZZ_SEED (1), FUZZ_CONNECTIONS (6), FUZZ_RSS_BOUND_MIB (300)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { provisionTenant } from '../../../runbooks/lib/hub-process.ts';
import { startPostgres, startRedis } from '../../../scripts/lib/local-services.ts';
import { HubClient } from '../client/client.ts';
import { spawnHub } from '../listening.ts';
import { hostileFrames } from './frames.ts';
import { prng } from './prng.ts';

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 180);
const SEED = Number(process.env.FUZZ_SEED ?? 1);
const CONNECTIONS = Number(process.env.FUZZ_CONNECTIONS ?? 6);
const RSS_BOUND_MIB = Number(process.env.FUZZ_RSS_BOUND_MIB ?? 300);
const STEADY_PAIRS = 4;
/** Under the default 100 messages per agent per minute. */
const STEADY_INTERVAL_MS = 700;
/**
 * Close codes a hostile socket may get: bad key, limits, invalid UTF-8, a frame beyond 2 MB, no hello,
 * and replaced (fuzzers reuse agent names, so a newer session of one takes over).
 */
const EXPECTED_CLOSES = new Set([4001, 4029, 1007, 1009, 4008, 4009]);
const ADMIN_TOKEN = `fuzz-admin-${'0123456789abcdef'.repeat(3)}`;
const repoRoot = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  return Math.round(kb / 102.4) / 10;
}

const RAW_REQUESTS = [
  'GET //a:99999/ HTTP/1.1\r\nHost: hub\r\n\r\n',
  'GET http://hub:99999/ws HTTP/1.1\r\nHost: hub\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  'GET /elsewhere HTTP/1.1\r\nHost: hub\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  `GET /api/ready HTTP/1.1\r\nHost: hub\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`,
  'OPTIONS * HTTP/1.1\r\nHost: hub\r\n\r\n',
  'POST /api/ready HTTP/1.1\r\nHost: hub\r\nContent-Length: 9999\r\n\r\n{',
];

/** One raw request, reset right after it or answered and closed. */
function rawRequest(port: number, request: string, reset: boolean): Promise<void> {
  return new Promise((done) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(request);
      if (reset) socket.resetAndDestroy();
    });
    socket.setTimeout(1_000, () => socket.destroy());
    socket.on('error', () => undefined);
    socket.on('data', () => socket.end());
    socket.on('close', () => done());
  });
}

async function main(): Promise<number> {
  console.log(
    `hub fuzz: ${SECONDS} s, seed ${SEED}, ${CONNECTIONS} hostile connections, RSS bound ${RSS_BOUND_MIB} MiB`,
  );
  const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  const { child: hub, listening } = spawnHub({
    DATABASE_URL: postgres.url,
    REDIS_URL: redis.url,
    HUB_ADMIN_TOKEN: ADMIN_TOKEN,
  });
  const clients: HubClient[] = [];
  try {
    const ports = await listening;
    const wsUrl = `ws://127.0.0.1:${ports.port}/ws`;
    const adminUrl = `http://127.0.0.1:${ports.adminPort}`;
    // The attackers have a tenant and key of their own, as a customer turned hostile would.
    const key = (await provisionTenant(adminUrl, ADMIN_TOKEN, 'steady')).apiKey;
    const hostileKey = (await provisionTenant(adminUrl, ADMIN_TOKEN, 'hostile')).apiKey;
    const rssBefore = rssMiB(hub.pid!);

    // Well-behaved pairs: every DM the hub acknowledges must arrive once, in order.
    const steady = await Promise.all(
      Array.from({ length: STEADY_PAIRS }, async (_, i) => {
        const receiver = new HubClient({ urls: [wsUrl], apiKey: key, agent: { name: `steady-receiver-${i}` } });
        const received: number[] = [];
        receiver.on('dm', (m) => received.push(m.seq));
        const sender = new HubClient({ urls: [wsUrl], apiKey: key, agent: { name: `steady-sender-${i}` } });
        clients.push(receiver, sender);
        await Promise.all([receiver.connect(), sender.connect()]);
        return { receiver, sender, received, acknowledged: [] as number[] };
      }),
    );
    const deadline = Date.now() + SECONDS * 1000;
    const steadyTraffic = Promise.all(
      steady.map(async (pair) => {
        for (let n = 0; Date.now() < deadline; n++) {
          const receipt = await pair.sender.sendDm(pair.receiver.identity.agentId, { n });
          pair.acknowledged.push(receipt.seq);
          await sleep(STEADY_INTERVAL_MS);
        }
      }),
    );

    const random = prng(SEED);
    const nextFrame = hostileFrames(
      random,
      steady.map((p) => p.receiver.identity.agentId),
    );
    const counts = { frames: 0, replies: 0, sockets: 0, refusedUpgrades: 0, rawRequests: 0 };
    const unexpectedCloses = new Map<number, number>();
    const fuzzer = async (index: number) => {
      const localAddress = `127.0.0.${10 + index}`;
      while (Date.now() < deadline) {
        if (random() < 0.1) {
          counts.rawRequests++;
          await rawRequest(ports.port, RAW_REQUESTS[Math.floor(random() * RAW_REQUESTS.length)]!, random() < 0.5);
          continue;
        }
        const ws = new WebSocket(wsUrl, { localAddress, maxPayload: 16 * 1024 * 1024 });
        ws.on('error', () => undefined);
        ws.on('message', () => counts.replies++);
        ws.on('unexpected-response', (_req, res) => {
          counts.refusedUpgrades++;
          res.resume();
          ws.terminate();
        });
        const closed = new Promise<number>((done) => ws.once('close', (code) => done(code)));
        const opened = await Promise.race([
          new Promise<boolean>((done) => ws.once('open', () => done(true))),
          closed.then(() => false),
        ]);
        if (!opened) continue;
        counts.sockets++;
        if (random() < 0.5) {
          const name = `fuzz-${Math.floor(random() * 50)}`;
          const apiKey = random() < 0.8 ? hostileKey : `rf_${'A'.repeat(43)}`;
          ws.send(JSON.stringify({ type: 'hello', id: 'hello', payload: { apiKey, agent: { name } } }));
        }
        for (let i = 0; i < 20 && ws.readyState === WebSocket.OPEN; i++) {
          const frame = nextFrame();
          ws.send(frame, { binary: Buffer.isBuffer(frame) });
          counts.frames++;
        }
        await Promise.race([closed, sleep(300)]);
        const byHub = ws.readyState !== WebSocket.OPEN;
        ws.close();
        const code = await closed;
        if (byHub && !EXPECTED_CLOSES.has(code)) unexpectedCloses.set(code, (unexpectedCloses.get(code) ?? 0) + 1);
      }
    };

    let rssPeak = rssBefore;
    const started = Date.now();
    const progress = setInterval(() => {
      const rss = rssMiB(hub.pid!);
      rssPeak = Math.max(rssPeak, rss);
      const acked = steady.reduce((n, p) => n + p.acknowledged.length, 0);
      console.log(
        `  ${Math.round((Date.now() - started) / 1000)} s: ${counts.frames} hostile frames on ${counts.sockets} sockets, ` +
          `${counts.rawRequests} raw requests, ${acked} steady DMs acknowledged, hub RSS ${rss} MiB`,
      );
    }, 5_000);
    await Promise.all([steadyTraffic, ...Array.from({ length: CONNECTIONS }, (_, i) => fuzzer(i))]);
    clearInterval(progress);
    rssPeak = Math.max(rssPeak, rssMiB(hub.pid!));

    // Every acknowledged DM arrives (the last ones may still be on their way).
    const complete = () => steady.every((p) => p.received.length >= p.acknowledged.length);
    for (let waited = 0; !complete() && waited < 15_000; waited += 100) await sleep(100);
    const lost = steady.reduce((n, p) => n + p.acknowledged.filter((seq) => !p.received.includes(seq)).length, 0);
    const outOfOrder = steady.filter((p) =>
      p.received.some((seq, i) => i > 0 && seq !== p.received[i - 1]! + 1),
    ).length;

    const alive = hub.exitCode === null;
    const ready = alive ? (await fetch(`${adminUrl}/api/ready`)).status : 0;
    const metrics = alive ? await (await fetch(`${adminUrl}/metrics`)).text() : '';
    const sum = (pattern: RegExp) => [...metrics.matchAll(pattern)].reduce((n, match) => n + Number(match[1]), 0);
    const internal =
      sum(/^hub_internal_errors_total\{[^}]*\} (\d+)$/gm) +
      sum(/^hub_protocol_errors_total\{[^}]*code="internal"[^}]*\} (\d+)$/gm);
    const checks = {
      alive,
      ready: ready === 200,
      noInternalErrors: internal === 0,
      everyAcknowledgedDmDelivered: lost === 0 && outOfOrder === 0,
      rssWithinBound: rssPeak <= RSS_BOUND_MIB,
      onlyExpectedCloses: unexpectedCloses.size === 0,
    };
    const report = {
      at: new Date().toISOString(),
      settings: { seconds: SECONDS, seed: SEED, connections: CONNECTIONS, rssBoundMiB: RSS_BOUND_MIB },
      traffic: { ...counts, steadyDmsAcknowledged: steady.reduce((n, p) => n + p.acknowledged.length, 0) },
      hub: { rssBeforeMiB: rssBefore, rssPeakMiB: rssPeak, internalErrors: internal, readyStatus: ready },
      dms: { lost, receiversOutOfOrder: outOfOrder },
      unexpectedCloses: Object.fromEntries(unexpectedCloses),
      checks,
      passed: Object.values(checks).every(Boolean),
    };
    writeReport(report);
    return report.passed ? 0 : 1;
  } finally {
    for (const client of clients) client.close();
    if (hub.exitCode === null) {
      hub.kill('SIGTERM');
      await new Promise((r) => hub.once('exit', r));
    }
    await Promise.all([postgres.stop(), redis.stop()]);
  }
}

function writeReport(report: {
  passed: boolean;
  unexpectedCloses: Record<string, number>;
  checks: Record<string, boolean>;
  traffic: Record<string, number>;
  hub: Record<string, number>;
  dms: Record<string, number>;
  settings: Record<string, number>;
  at: string;
}): void {
  const dir = join(repoRoot, 'reports', 'hub-fuzz');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  const rows = (values: Record<string, unknown>) =>
    Object.entries(values)
      .map(([k, v]) => `| ${k} | ${String(v)} |`)
      .join('\n');
  const markdown = [
    `# Hub fuzz run: ${report.passed ? 'passed' : 'FAILED'}`,
    '',
    `${report.at}; \`npm run hub:fuzz\` with ${JSON.stringify(report.settings)}`,
    '',
    '| check | passed |\n| --- | --- |',
    rows(report.checks),
    '',
    '| traffic | count |\n| --- | --- |',
    rows(report.traffic),
    '',
    '| hub | value |\n| --- | --- |',
    rows({ ...report.hub, ...report.dms }),
    '',
    `Sockets the hub closed with a code it should not use: ${JSON.stringify(report.unexpectedCloses)}`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'report.md'), markdown);
  console.log(markdown);
  console.log('written to reports/hub-fuzz/report.json and report.md');
}

process.exit(await main());
