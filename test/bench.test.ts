/*
 * The capacity bench's parts at a small size, for real: the fan-out driver against two hubs, two
 * Centrifugo nodes (the toolchain's build) and two bare relays, each on a real Redis, counting every
 * delivery; the capacity row's connect, GC, hold and storm against a hub; and the section of
 * BENCHMARKS.md it rewrites. The figures themselves are `npm run bench`'s, never asserted here.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { startRedis } from '../scripts/lib/local-services.ts';
import { repoRoot } from '../scripts/lib/tools.ts';
import { runCapacity } from '../scripts/bench/capacity.ts';
import { runDm } from '../scripts/bench/dm.ts';
import { runFanout, type FanoutProtocol } from '../scripts/bench/fanout.ts';
import { startHubs } from '../scripts/bench/hubs.ts';
import { benchMarkdown, replaceHubSection } from '../scripts/bench/markdown.ts';
import { centrifugoProtocol, hubProtocol, relayProtocol } from '../scripts/bench/protocols.ts';
import { startCentrifugo, startRelay, type Nodes } from '../scripts/bench/servers.ts';

const SMALL = {
  subscribers: 20,
  publishers: 2,
  rates: [10, 20],
  stepSeconds: 2,
  warmUpSeconds: 1,
  // Generous: the test proves delivery counting and the protocols, not speed.
  bounds: { p95Ms: 5_000, p99Ms: 5_000 },
  print: () => undefined,
};

async function fanoutOn(
  protocol: FanoutProtocol,
  start: (redisUrl: string) => Promise<Nodes>,
  bounds: { p95Ms: number; p99Ms: number } = SMALL.bounds,
) {
  const redis = await startRedis();
  try {
    const nodes = await start(redis.url);
    try {
      return await runFanout(protocol, { ...SMALL, bounds, urls: nodes.urls, pids: nodes.pids });
    } finally {
      await nodes.stop();
    }
  } finally {
    await redis.stop();
  }
}

function assertEveryDelivery(result: Awaited<ReturnType<typeof runFanout>>): void {
  assert.deepEqual(
    result.steps.map((s) => s.messagesPerSecond),
    SMALL.rates,
  );
  for (const step of result.steps) {
    assert.ok(step.expected >= step.messagesPerSecond * SMALL.stepSeconds * SMALL.subscribers * 0.9);
    assert.equal(step.delivered, step.expected);
    assert.ok(step.passed);
    assert.ok(step.serverCpuMsPer1k > 0, 'the servers spent CPU time');
  }
  assert.equal(result.sustainablePerSecond, 20 * SMALL.subscribers);
}

describe('npm run bench, small', { timeout: 240_000 }, () => {
  test('fan-out reaches every subscriber of two hub replicas through Redis', async () => {
    const hubs = await startHubs({ count: 2 });
    try {
      const result = await runFanout(hubProtocol(hubs.apiKey), {
        ...SMALL,
        urls: hubs.hubs.map((h) => h.wsUrl),
        pids: hubs.hubs.map((h) => h.process.pid!),
      });
      assertEveryDelivery(result);
    } finally {
      await hubs.stop();
    }
  });

  test('the same shape through two Centrifugo nodes and two bare relays', async () => {
    assertEveryDelivery(await fanoutOn(centrifugoProtocol(), startCentrifugo));
    assertEveryDelivery(await fanoutOn(relayProtocol(), startRelay));
  });

  test('a step whose bound is missed fails, is run once more, and ends the climb', async () => {
    // No latency is under 0 ms: every step misses.
    const result = await fanoutOn(relayProtocol(), startRelay, { p95Ms: 0, p99Ms: 0 });
    assert.deepEqual(
      result.steps.map((s) => [s.messagesPerSecond, s.passed]),
      [
        [10, false],
        [10, false],
      ],
    );
    assert.equal(result.sustainablePerSecond, 0);
  });

  test('the DM row sends through the load runner to a hub on a durable Postgres, with no seq gap', async () => {
    const reportRoot = mkdtempSync(join(tmpdir(), 'rf-bench-dm-'));
    const tokenBefore = process.env.HUB_ADMIN_TOKEN;
    try {
      const result = await runDm({
        perSecond: 50,
        seconds: 2,
        bounds: { p95Ms: 5_000, p99Ms: 5_000 },
        reportRoot,
        print: () => undefined,
      });
      assert.ok(result.sent >= 90, `${result.sent} sent`);
      assert.equal(result.delivered, result.sent);
      assert.equal(result.seqGaps, 0);
      assert.ok(result.passed);
      assert.equal(
        process.env.HUB_ADMIN_TOKEN,
        tokenBefore,
        'the admin token of the bench hub does not outlive the run',
      );
    } finally {
      rmSync(reportRoot, { recursive: true, force: true });
    }
  });

  test('the capacity row holds, measures memory after GC and reconnects every agent at once', async () => {
    const result = await runCapacity({ agents: 300, holdSeconds: 1, print: () => undefined });
    assert.equal(result.hold.heldAtEnd, 300);
    assert.equal(result.hold.unexpectedCloses, 0);
    assert.ok(result.memory.rssAfterMiB > 0 && result.memory.bytesPerConnection !== 0);
    assert.ok(result.storm.seconds > 0 && result.storm.hellosPerSecond > 0);
    assert.ok(result.storm.connectMaxMs >= result.storm.connectP95Ms);
  });
});

describe('the BENCHMARKS.md hub section', () => {
  const document = readFileSync(join(repoRoot, 'BENCHMARKS.md'), 'utf8');

  test('is replaced between its markers, leaving the rest of the file alone', () => {
    const replaced = replaceHubSection(document, '## Hub capacity\n\nnew figures\n');
    assert.match(replaced, /new figures/);
    assert.ok(replaced.includes('## Hub under attack'), 'the following section stays');
    assert.equal(replaced.split('<!-- bench:hub:start').length, 2);
  });

  test('refuses a file without the markers', () => {
    assert.throws(() => replaceHubSection('# Benchmarks\n', 'x'), /markers .* are missing/);
  });

  test('marks each target met or not from the figures', () => {
    const markdown = benchMarkdown({
      at: '2026-12-01T00:00:00.000Z',
      command: 'npm run bench',
      machine: { cpus: 2, cpuModel: 'test', node: 'v24' },
      dm: {
        perSecondTarget: 1000,
        sent: 100,
        delivered: 100,
        p50Ms: 3,
        p95Ms: 25,
        p99Ms: 40,
        seqGaps: 0,
        droppedIterations: 0,
        passed: false,
        summaryPath: 'x',
      },
    });
    assert.match(markdown, /DMs at 1,000\/s.*p95 25 ms.*\| \*\*no\*\* \|/);
  });
});
