/*
 * `npm run bench`: the hub's capacity on this machine, row by row, against the targets the hub is
 * held to: agents one replica holds, memory per idle connection, a reconnect storm, fan-out across
 * two replicas side by side with Centrifugo and a bare relay on the same Redis and generator, and
 * direct messages at a fixed rate. Writes reports/bench/<time>/summary.{json,md} and rewrites the
 * hub section of BENCHMARKS.md. Not part of CI: a full run takes about 15 minutes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { format, resolveConfig } from 'prettier';
import { startRedis } from '../lib/local-services.ts';
import { repoRoot } from '../lib/tools.ts';
import { runCapacity, type CapacityResult } from './capacity.ts';
import { runDm, type DmResult } from './dm.ts';
import { runFanout, type FanoutPlan, type FanoutProtocol, type FanoutResult } from './fanout.ts';
import { startHubs } from './hubs.ts';
import { benchMarkdown, replaceHubSection } from './markdown.ts';
import { centrifugoProtocol, hubProtocol, relayProtocol } from './protocols.ts';
import { startCentrifugo, startRelay, type Nodes } from './servers.ts';

const ROWS = ['capacity', 'fanout', 'dm'] as const;
type Row = (typeof ROWS)[number];

const USAGE = `usage: npm run bench [-- options]
  --only <rows>          comma-separated, of ${ROWS.join(', ')} (default all)
  --agents <n>           agents one replica holds (default 10000)
  --hold-seconds <n>     how long they are held (default 300)
  --subscribers <n>      fan-out subscribers over two nodes (default 1000)
  --rates <list>         fan-out messages per second, one step each (default 20,40,60,80,100,120,160)
  --step-seconds <n>     length of each fan-out step (default 10)
  --dm-rate <n>          direct messages per second (default 1000)
  --dm-seconds <n>       length of the DM run (default 60)
  --no-write             leave BENCHMARKS.md as it is (a run of some rows always does)
  --from <summary.json>  measure nothing: render a saved run's report and section again`;

export interface BenchReport {
  readonly at: string;
  readonly command: string;
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly node: string };
  readonly capacity?: CapacityResult;
  readonly fanout?: { readonly hub: FanoutResult; readonly centrifugo: FanoutResult; readonly relay: FanoutResult };
  readonly dm?: DmResult;
}

function positive(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`--${flag}: must be a positive integer (got ${JSON.stringify(value)})`);
  return n;
}

/** Room for the servers' own files and sockets beside the agents' connections. */
const SPARE_FILES = 1_000;

/** The generator and the hub each hold one socket per agent; both inherit this process's limit. */
function checkOpenFiles(agents: number): void {
  const limit = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
  if (limit !== undefined && agents + SPARE_FILES > Number(limit)) {
    throw new Error(
      `--agents: ${agents} connections need more open files than this shell allows (${limit}): ` +
        `run \`ulimit -n ${agents + 10 * SPARE_FILES}\` first (as root to go past the hard limit)`,
    );
  }
}

const FANOUT_BOUNDS = { p95Ms: 50, p99Ms: 150 };

async function fanoutRow(plan: Omit<FanoutPlan, 'urls' | 'pids'>, print: (line: string) => void) {
  print('fanout: the hub, two replicas on one Redis');
  const hubs = await startHubs({ count: 2 });
  let hub: FanoutResult;
  try {
    hub = await runFanout(hubProtocol(hubs.apiKey), {
      ...plan,
      urls: hubs.hubs.map((h) => h.wsUrl),
      pids: hubs.hubs.map((h) => h.process.pid!),
    });
  } finally {
    await hubs.stop();
  }
  // Each alone on the machine, on a Redis of its own: nothing of the previous run competes.
  const beside = async (protocol: FanoutProtocol, start: (redisUrl: string) => Promise<Nodes>) => {
    print(`fanout: ${protocol.name}, two nodes on one Redis`);
    const redis = await startRedis();
    try {
      const nodes = await start(redis.url);
      try {
        return await runFanout(protocol, { ...plan, urls: nodes.urls, pids: nodes.pids });
      } finally {
        await nodes.stop();
      }
    } finally {
      await redis.stop();
    }
  };
  const centrifugo = await beside(centrifugoProtocol(), startCentrifugo);
  const relay = await beside(relayProtocol(), startRelay);
  return { hub, centrifugo, relay };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      agents: { type: 'string', default: '10000' },
      'hold-seconds': { type: 'string', default: '300' },
      subscribers: { type: 'string', default: '1000' },
      rates: { type: 'string', default: '20,40,60,80,100,120,160' },
      'step-seconds': { type: 'string', default: '10' },
      'dm-rate': { type: 'string', default: '1000' },
      'dm-seconds': { type: 'string', default: '60' },
      'no-write': { type: 'boolean', default: false },
      from: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const rows = (values.only?.split(',') ?? [...ROWS]) as Row[];
  const unknown = rows.find((row) => !ROWS.includes(row));
  if (unknown !== undefined) throw new Error(`--only: "${unknown}" is not a row (rows: ${ROWS.join(', ')})`);
  const rates = values.rates.split(',').map((rate) => positive('rates', rate));
  const command = ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
  const at = new Date().toISOString();
  const dir = join(repoRoot, 'reports', 'bench', at.replace(/[:.]/g, '-'));
  mkdirSync(dir, { recursive: true });
  const print = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

  let report: BenchReport =
    values.from === undefined
      ? {
          at,
          command,
          machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
        }
      : (JSON.parse(readFileSync(values.from, 'utf8')) as BenchReport);
  if (values.from !== undefined) {
    print(`rendering the run of ${report.at} from ${values.from}, measuring nothing`);
  } else if (rows.includes('capacity')) {
    const agents = positive('agents', values.agents);
    checkOpenFiles(agents);
    const capacity = await runCapacity({
      agents,
      holdSeconds: positive('hold-seconds', values['hold-seconds']),
      print,
    });
    report = { ...report, capacity };
  }
  if (values.from === undefined && rows.includes('fanout')) {
    const fanout = await fanoutRow(
      {
        subscribers: positive('subscribers', values.subscribers),
        publishers: 4,
        rates,
        stepSeconds: positive('step-seconds', values['step-seconds']),
        warmUpSeconds: 5,
        bounds: FANOUT_BOUNDS,
        print,
      },
      print,
    );
    report = { ...report, fanout };
  }
  if (values.from === undefined && rows.includes('dm')) {
    const dm = await runDm({
      perSecond: positive('dm-rate', values['dm-rate']),
      seconds: positive('dm-seconds', values['dm-seconds']),
      bounds: { p95Ms: 20, p99Ms: 60 },
      reportRoot: dir,
      print,
    });
    report = { ...report, dm };
  }

  // Formatted as `npm run lint` checks the repository's Markdown.
  const markdown = await format(benchMarkdown(report), {
    parser: 'markdown',
    ...(await resolveConfig(join(repoRoot, 'BENCHMARKS.md'))),
  });
  writeFileSync(join(dir, 'summary.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(dir, 'summary.md'), markdown);
  print(`written: ${join(dir, 'summary.json')} and summary.md`);
  // Only a run of every row speaks for the whole section.
  const complete = report.capacity !== undefined && report.fanout !== undefined && report.dm !== undefined;
  if (!values['no-write'] && complete) {
    const path = join(repoRoot, 'BENCHMARKS.md');
    const document = replaceHubSection(readFileSync(path, 'utf8'), markdown);
    writeFileSync(path, await format(document, { filepath: path, ...(await resolveConfig(path)) }));
    print('BENCHMARKS.md: hub section rewritten');
  }
  console.log(`\n${markdown}`);
}

main().catch((error: unknown) => {
  console.error(`bench: ${(error as Error).message}`);
  process.exit(1);
});
