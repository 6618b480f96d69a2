/* The bench's report as Markdown, and the hub section of BENCHMARKS.md it replaces. */
import type { CapacityResult } from './capacity.ts';
import type { DmResult } from './dm.ts';
import type { FanoutResult } from './fanout.ts';
import type { BenchReport } from './run.ts';

const START = '<!-- bench:hub:start (npm run bench rewrites this section) -->';
const END = '<!-- bench:hub:end -->';

const n = (value: number) => value.toLocaleString('en-US');
const met = (ok: boolean) => (ok ? 'yes' : '**no**');
const ratio = (a: number, b: number) => (b === 0 ? 'n/a' : `${(a / b).toFixed(2)}×`);

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

function capacityRows(c: CapacityResult): string[][] {
  const stormOk = c.storm.hellosPerSecond >= 1000 && c.storm.seconds <= 15;
  return [
    [
      `agents one replica holds for ${c.hold.seconds / 60} min`,
      '10,000, 0 unexpected closes',
      `${n(c.hold.heldAtEnd)} held, ${c.hold.unexpectedCloses} unexpected closes`,
      met(c.hold.heldAtEnd >= 10_000 && c.hold.unexpectedCloses === 0),
    ],
    [
      `reconnect storm: ${n(c.agents)} agents at once`,
      '≥ 1,000 hellos/s, all back within 15 s',
      `${n(c.storm.hellosPerSecond)} hellos/s, all back in ${c.storm.seconds} s (connect p50 ${c.storm.connectP50Ms} ms, p95 ${c.storm.connectP95Ms} ms)`,
      met(stormOk),
    ],
    [
      'first connection of each agent (creates it)',
      '',
      `${n(c.firstConnect.hellosPerSecond)} hellos/s, 200 at a time (${c.firstConnect.seconds} s)`,
      '',
    ],
    [
      'memory per idle connection (RSS growth after GC ÷ connections)',
      '≤ 30 KB',
      `${(c.memory.bytesPerConnection / 1000).toFixed(1)} KB (RSS ${c.memory.rssBeforeMiB} → ${c.memory.rssAfterMiB} MiB)`,
      met(c.memory.bytesPerConnection <= 30_000),
    ],
  ];
}

function fanoutRows(f: NonNullable<BenchReport['fanout']>): string[][] {
  const { hub, centrifugo, relay } = f;
  const final = hub.steps.at(-1);
  return [
    [
      `fan-out over 2 replicas through Redis, ${n(hub.subscribers)} subscribers`,
      '≥ 10,000 deliveries/s at p95 < 50 ms, p99 < 150 ms, all delivered',
      `${n(hub.sustainablePerSecond)}/s sustained${final?.passed === false ? ` (the next step: ${n(final.deliveredPerSecond)}/s, p99 ${final.p99Ms} ms)` : ''}`,
      met(hub.sustainablePerSecond >= 10_000),
    ],
    [
      'hub ÷ Centrifugo v6, sustainable deliveries/s',
      '≥ 0.7× (stretch 1×)',
      `${ratio(hub.sustainablePerSecond, centrifugo.sustainablePerSecond)} (${n(hub.sustainablePerSecond)} ÷ ${n(centrifugo.sustainablePerSecond)})`,
      met(hub.sustainablePerSecond >= 0.7 * centrifugo.sustainablePerSecond),
    ],
    [
      'hub ÷ bare relay, sustainable deliveries/s',
      '≥ 0.8×',
      `${ratio(hub.sustainablePerSecond, relay.sustainablePerSecond)} (${n(hub.sustainablePerSecond)} ÷ ${n(relay.sustainablePerSecond)})`,
      met(hub.sustainablePerSecond >= 0.8 * relay.sustainablePerSecond),
    ],
  ];
}

function dmRow(d: DmResult): string[] {
  return [
    `DMs at ${n(d.perSecondTarget)}/s, on disk before the receipt (one replica, fsync and synchronous commit on)`,
    'p95 < 20 ms, p99 < 60 ms, 0 seq gaps',
    `p50 ${d.p50Ms} ms, p95 ${d.p95Ms} ms, p99 ${d.p99Ms} ms; ${d.seqGaps} gaps; ${n(d.delivered)} of ${n(d.sent)} delivered, ${d.droppedIterations} not started in time`,
    met(d.p95Ms < 20 && d.p99Ms < 60 && d.seqGaps === 0),
  ];
}

function stepsTable(results: readonly FanoutResult[]): string {
  return table(
    [
      'server',
      'messages/s',
      'deliveries/s',
      'p50',
      'p95',
      'p99',
      'delivered / expected',
      'server CPU per 1k deliveries',
    ],
    results.flatMap((r) =>
      r.steps.map((s) => [
        r.server,
        n(s.messagesPerSecond),
        n(s.deliveredPerSecond),
        `${s.p50Ms} ms`,
        `${s.p95Ms} ms`,
        `${s.p99Ms} ms`,
        `${n(s.delivered)} / ${n(s.expected)}${s.passed ? '' : ' (missed)'}`,
        `${s.serverCpuMsPer1k} ms`,
      ]),
    ),
  );
}

/**
 * What each figure is bound by. The profiles behind these lines: `BENCH_CPU_PROF=<dir> npm run bench`,
 * where system calls writing to sockets (`writev`, `writeUtf8String`) were 40-60% of a busy hub's
 * CPU time on this machine, before JavaScript of any kind.
 */
function limits(report: BenchReport): string[] {
  const lines: string[] = [];
  if (report.capacity !== undefined) {
    lines.push(
      '- **Hold and storm:** one hub process is one event loop on one core, beside the generator ' +
        '(every agent in one process), Postgres and Redis on the same two. A reconnecting `hello` is a ' +
        'cached key, one `UPDATE … RETURNING` of the agent, a Redis subscribe, the presence write and ' +
        'the DM backlog read; its reply and the handshake are most of the socket writes. Presence ' +
        'announcements no longer grow with the square of the fleet (batched windows, `resync` past ' +
        '50 changes). A first connection also creates its agent, in a transaction that counts it ' +
        'against its key.',
      '- **Memory:** what stays per connection after a full collection is the socket, its `ws` state ' +
        'and the session (timers, DM position, presence entry).',
    );
  }
  if (report.fanout !== undefined) {
    const { hub, centrifugo, relay } = report.fanout;
    const failedAt = [hub, centrifugo, relay].map((r) => r.steps.find((s) => !s.passed)?.messagesPerSecond);
    const sameStep = failedAt.every((rate) => rate !== undefined && rate === failedAt[0]);
    lines.push(
      `- **Fan-out:** ${sameStep ? 'all three servers miss at the same step, so the machine is the limit, not the server. ' : ''}` +
        'Every delivery is one socket write (a system call) on the server and one parsed message in ' +
        'the generator, which runs in one Node process on the same two cores; the hub serialises a ' +
        "broadcast once for the whole fleet. Centrifugo's Go runtime spreads a node over both cores " +
        'where a hub process has one event loop. The server CPU per 1,000 deliveries (Redis not ' +
        'counted) compares what each server costs, which the generator does not bound.',
    );
  }
  if (report.dm !== undefined) {
    lines.push(
      '- **DMs:** each is one statement (`ringforge_send_dm`: idempotency key, seq, message, reply) ' +
        'committed before the receipt, where it had been six round trips in a transaction; ' +
        'acknowledgements arriving together are written in one statement. What remains is the ' +
        "disk's flush on each commit (Postgres flushes concurrent commits together) and the socket " +
        'writes of the send, the delivery and the acknowledgement. The other rows run Postgres ' +
        'without fsync, as every local test server here does.',
    );
  }
  return lines;
}

export function benchMarkdown(report: BenchReport): string {
  const rows: string[][] = [
    ...(report.capacity ? capacityRows(report.capacity) : []),
    ...(report.fanout ? fanoutRows(report.fanout) : []),
    ...(report.dm ? [dmRow(report.dm)] : []),
  ];
  const fanout = report.fanout;
  return [
    '## Hub capacity',
    '',
    `\`${report.command}\` on ${report.at.slice(0, 10)}: ${report.machine.cpus} × ${report.machine.cpuModel}, ` +
      `Node ${report.machine.node}; Postgres, Redis, the hubs and the load generator share the machine.`,
    '',
    table(['measure', 'target', 'measured', 'met'], rows),
    ...(fanout
      ? [
          '',
          `Fan-out, step by step: four publishers and ${n(fanout.hub.subscribers)} subscribers spread over two ` +
            'nodes on one Redis, the same raw WebSocket clients for every server, a missed step run once more. ' +
            'Centrifugo v6.9.1 runs its Redis engine in insecure client mode (no tokens); the bare relay ' +
            '(`scripts/bench/relay.ts`) forwards frames through Redis and does nothing else.',
          '',
          stepsTable([fanout.hub, fanout.centrifugo, fanout.relay]),
        ]
      : []),
    '',
    'What limits each figure:',
    '',
    ...limits(report),
    '',
  ].join('\n');
}

/** The BENCHMARKS.md text with its hub section replaced by `markdown`. */
export function replaceHubSection(document: string, markdown: string): string {
  const start = document.indexOf(START);
  const end = document.indexOf(END);
  if (start < 0 || end < start) throw new Error(`BENCHMARKS.md: the markers ${START} and ${END} are missing`);
  const section = `${START}\n\n${markdown}\n`;
  return document.slice(0, start) + section + document.slice(end);
}
