/*
 * `npm run loadtest -- <scenario> [--env <name>] [--target <url>] [--profile smoke|full]`: runs one
 * load test against a local stack (Postgres, Redis, two hubs behind HAProxy), a target already
 * running, or a deployed environment; prints progress and a threshold table, and writes
 * reports/loadtest/<timestamp>-<scenario>/summary.json. With --slice it runs its part of a
 * distributed run (`npm run loadtest:merge` joins the parts). Exit 0 when every threshold passes,
 * 99 when one fails, 1 on an error.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { environmentNames, loadEnvironment } from '../environments/index.ts';
import { openConnections } from './lib/agents.ts';
import { withTimeout } from './lib/bounded.ts';
import { runScenario, type Iteration } from './lib/executors.ts';
import { parseOptions, type OptionsInput } from './lib/options.ts';
import { LiveLine, plannedMs, progressText } from './lib/progress.ts';
import { Registry } from './lib/registry.ts';
import { writeLoadReport } from './lib/report.ts';
import { PROFILES, type LoadTestModule, type Profile } from './lib/scenario.ts';
import { parseSlice, sliceFromEnv, sliceOptions, sliceRunId, WHOLE_RUN, type Slice } from './lib/slices.ts';
import { runLogLine } from './lib/run-log.ts';
import { summarize, thresholdTable, type Summary } from './lib/summary.ts';
import { openTarget, parseStartAt, planTarget, waitForStart, type OpenedTarget } from './lib/targets.ts';
import { abortingFailures, evaluateThresholds, THRESHOLDS_FAILED_EXIT_CODE } from './lib/thresholds.ts';
import { SERIES_FILE, SeriesRecorder } from './lib/timeseries.ts';
import * as api from './scenarios/api.ts';
import * as connect from './scenarios/connect.ts';
import * as dm from './scenarios/dm.ts';
import * as fanout from './scenarios/fanout.ts';
import * as offline from './scenarios/offline.ts';
import * as soak from './scenarios/soak.ts';
import * as tasks from './scenarios/tasks.ts';

// Each module is checked against the interface here, with its own data type.
const SCENARIOS = {
  api: api satisfies LoadTestModule<Awaited<ReturnType<typeof api.setup>>>,
  connect: connect satisfies LoadTestModule<Awaited<ReturnType<typeof connect.setup>>>,
  dm: dm satisfies LoadTestModule<Awaited<ReturnType<typeof dm.setup>>>,
  fanout: fanout satisfies LoadTestModule<Awaited<ReturnType<typeof fanout.setup>>>,
  offline: offline satisfies LoadTestModule<Awaited<ReturnType<typeof offline.setup>>>,
  soak: soak satisfies LoadTestModule<Awaited<ReturnType<typeof soak.setup>>>,
  tasks: tasks satisfies LoadTestModule<Awaited<ReturnType<typeof tasks.setup>>>,
} as Record<string, LoadTestModule>;

export const scenarioNames = Object.keys(SCENARIOS);

/** The module of a scenario, undefined for an unknown name (a merge re-derives its thresholds). */
export const scenarioModule = (name: string): LoadTestModule | undefined => SCENARIOS[name];

export interface LoadTestRun {
  readonly scenario: string;
  /** @default 'local' */
  readonly env?: string;
  /** @default 'smoke' */
  readonly profile?: Profile;
  /** Replaces the module's options (tests use it for short runs and impossible thresholds). */
  readonly options?: (defaults: OptionsInput) => OptionsInput;
  /** `--out`: where the run's directory is made. @default reports/loadtest */
  readonly reportRoot?: string;
  /** This runner's part of a distributed run. @default the whole run */
  readonly slice?: Slice;
  /** When every slice starts iterating (after its setup). @default right after setup */
  readonly startAt?: Date;
  /** A running target's WebSocket URL instead of the environment's (see lib/targets.ts). */
  readonly target?: string;
  /** The hub's admin listener, to provision an API key on a remote target. */
  readonly adminUrl?: string;
  /** The operator confirmed loading an environment that asks for it (`--yes`). */
  readonly confirmed?: boolean;
  /** Also print the run's JSON files on one log line, for a runner whose files are out of reach (a pod). */
  readonly printRun?: boolean;
  /** The command line, as the report shows it. @default the scenario, env and profile as flags */
  readonly command?: string;
  readonly progressEveryMs?: number;
  readonly print?: (line: string) => void;
  readonly signal?: AbortSignal;
}

export interface LoadTestResult {
  readonly exitCode: 0 | 1 | typeof THRESHOLDS_FAILED_EXIT_CODE;
  readonly summary?: Summary;
  readonly summaryPath?: string;
  readonly error?: Error;
}

const SETUP_TIMEOUT_MS = 120_000;
const TEARDOWN_TIMEOUT_MS = 15_000;

const timestamp = () => new Date().toISOString().replace(/[:.]/g, '-');
// Resolved from this file, not the repository's tools: the runner also runs bundled, in the hub image.
const DEFAULT_REPORT_ROOT = fileURLToPath(new URL('../reports/loadtest', import.meta.url));
/** Slices of one run written to one --out directory must not overwrite each other. */
const sliceSuffix = (slice: Slice) => (slice.count > 1 ? `-slice-${slice.index}-of-${slice.count}` : '');

/** Runs one load test to its end; never throws: an error is exit code 1 with the error. */
export async function runLoadTest(run: LoadTestRun): Promise<LoadTestResult> {
  const print = run.print ?? ((line: string) => console.log(line));
  const profile = run.profile ?? 'smoke';
  const envName = run.env ?? 'local';
  let target: OpenedTarget | undefined;
  try {
    const module = SCENARIOS[run.scenario];
    if (!module) throw new Error(`unknown scenario "${run.scenario}" (known: ${scenarioNames.join(', ')})`);
    const env = loadEnvironment(envName);
    const plan = planTarget({
      env,
      ...(run.target === undefined ? {} : { target: run.target }),
      ...(run.adminUrl === undefined ? {} : { adminUrl: run.adminUrl }),
      confirmed: run.confirmed ?? false,
      slice: run.slice ?? WHOLE_RUN,
    });
    const slice = run.slice ?? WHOLE_RUN;
    const defaults = module.options(env.slo, profile);
    const options = sliceOptions(parseOptions(run.options ? run.options(defaults) : defaults), slice);
    for (const [name, scenario] of Object.entries(options.scenarios)) {
      if (!module.exec[scenario.exec]) {
        throw new Error(`scenarios.${name}.exec: ${run.scenario} exports no iteration function "${scenario.exec}"`);
      }
    }

    const startedAt = new Date().toISOString();
    // The shared start names the run for every slice; the slice index keeps their agents apart.
    const runId = sliceRunId(run.startAt ?? new Date(), slice);
    if (slice.count > 1) print(`${run.scenario}: slice ${slice.index}/${slice.count}`);
    target = await openTarget(plan, runId, print);
    const registry = new Registry();
    const abort = new AbortController();
    const signal = run.signal ? AbortSignal.any([run.signal, abort.signal]) : abort.signal;
    print(`${run.scenario}: setup`);
    const data = await withTimeout(
      module.setup({ target, profile, registry, signal, slice, runId }),
      SETUP_TIMEOUT_MS,
      'setup',
    );
    if (run.startAt) await waitForStart(run.startAt, print, signal);

    const origin = performance.now();
    // Intervals count from the shared start, so the series of every slice line up for the merge.
    const recorder = new SeriesRecorder(registry, {
      startMs: run.startAt?.getTime() ?? Date.now(),
      // Held by this process, so a merge adds them up.
      levels: { connections: openConnections, vus: () => registry.gauge('vus').select().value ?? 0 },
    }).start();
    // On a terminal the progress is one line redrawn in place; in logs, a plain line every few seconds.
    const live = run.print === undefined && process.stdout.isTTY ? new LiveLine(process.stdout) : undefined;
    const say = live ? (line: string) => live.print(line) : print;
    const planned = plannedMs(options);
    let errorsShown = 0;
    const tick = setInterval(
      () => {
        const elapsed = performance.now() - origin;
        const status = progressText({
          scenario: run.scenario,
          elapsedMs: elapsed,
          plannedMs: planned,
          connections: openConnections(),
          registry,
          trend: module.progressTrend,
          series: recorder.series,
        });
        if (live) live.show(status);
        else print(status);
        const failing = abortingFailures(evaluateThresholds(registry, options.thresholds), elapsed);
        if (failing.length > 0) {
          say(
            `${run.scenario}: aborting, ${failing.map((f) => `${f.threshold.key} ${f.threshold.expression}`).join(', ')} failed`,
          );
          abort.abort();
        }
      },
      live ? 500 : (run.progressEveryMs ?? 3_000),
    );
    try {
      await Promise.all(
        Object.entries(options.scenarios).map(([name, scenario]) => {
          const exec = module.exec[scenario.exec]!;
          const iteration: Iteration = (ctx) => exec(ctx, data);
          return runScenario(name, scenario, iteration, {
            registry,
            signal,
            onIterationError: (error) => {
              // The first few errors say what went wrong; the rest are counted in iteration_errors.
              if (errorsShown++ < 5) say(`${name}: iteration failed: ${(error as Error).message}`);
            },
          });
        }),
      );
    } finally {
      clearInterval(tick);
      live?.stop();
      // Before teardown, whose closed connections are not part of the run.
      recorder.stop();
      await withTimeout(module.teardown(data), TEARDOWN_TIMEOUT_MS, 'teardown').catch((error: unknown) =>
        print(`teardown: ${(error as Error).message}`),
      );
    }

    const verdict = evaluateThresholds(registry, options.thresholds);
    const summary = summarize(registry, verdict, {
      scenario: run.scenario,
      environment: envName,
      profile,
      startedAt,
      finishedAt: new Date().toISOString(),
      ...(slice.count > 1 ? { slice } : {}),
    });
    const dir = join(run.reportRoot ?? DEFAULT_REPORT_ROOT, `${timestamp()}-${run.scenario}${sliceSuffix(slice)}`);
    mkdirSync(dir, { recursive: true });
    const summaryPath = join(dir, 'summary.json');
    writeFileSync(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
    writeFileSync(join(dir, SERIES_FILE), `${JSON.stringify(recorder.series)}\n`);
    const [reportPath] = writeLoadReport(dir, {
      summary,
      series: recorder.series,
      command: run.command ?? `npm run loadtest -- ${run.scenario} --env ${envName} --profile ${profile}`,
    });
    print('');
    print(thresholdTable(summary));
    print('');
    print(`${run.scenario}: ${verdict.passed ? 'all thresholds passed' : 'thresholds FAILED'}; ${summaryPath}`);
    print(`${run.scenario}: report ${reportPath}`);
    if (run.printRun) print(runLogLine(dir));
    // A slice's figures are not the run's: the merge gives the verdict. A slice exiting 99 would also
    // fail its Job (backoffLimit 0), which then stops the slices still running.
    if (slice.count > 1) return { exitCode: 0, summary, summaryPath };
    return { exitCode: verdict.passed ? 0 : THRESHOLDS_FAILED_EXIT_CODE, summary, summaryPath };
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    print(`${run.scenario}: error: ${err.message}`);
    return { exitCode: 1, error: err };
  } finally {
    if (target) {
      print('stack: stopping');
      await target.stop();
    }
  }
}

const USAGE = `usage: npm run loadtest -- <scenario> [--env <name>] [--target <url>] [--profile smoke|full]
                    [--slice <index>/<count>] [--start-at <ISO time>] [--out <dir>]
  scenarios: ${scenarioNames.join(', ')}
  --env        environment whose SLOs are the thresholds, and (unless local) the target
               (default local; known: ${environmentNames.join(', ')})
  --target     ws(s):// URL of a running hub instead: loopback for local, e.g. the in-cluster Service
               for a deployed environment
  --admin-url  the hub's admin listener (kubectl port-forward) to provision an API key, with the token
               in HUB_ADMIN_TOKEN; otherwise a remote target's key comes from LOADTEST_API_KEY
  --yes        confirm loading an environment that asks for it (prod)
  --profile    smoke (small, under ~30 s) or full (default smoke)
  --slice      this runner's part of a distributed run, index from 0
               (default: JOB_COMPLETION_INDEX/LOADTEST_PARALLELISM when set, else the whole run)
  --start-at   when every slice starts iterating, within 10 min of now (default LOADTEST_START_AT)
  --out        where the run's directory goes (default reports/loadtest)
  --print-run  also print the run's JSON files on one log line (pods: npm run loadtest:merge reads it)`;

/** The command line (and a pod's environment) into a run; throws with a message naming the flag. */
export function parseCommandLine(args: readonly string[], env: NodeJS.ProcessEnv = process.env): LoadTestRun | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        env: { type: 'string', default: 'local' },
        profile: { type: 'string', default: 'smoke' },
        target: { type: 'string' },
        'admin-url': { type: 'string' },
        yes: { type: 'boolean', default: false },
        slice: { type: 'string' },
        'start-at': { type: 'string' },
        out: { type: 'string' },
        'print-run': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length !== 1) throw new Error(`give exactly one scenario (got ${positionals.length})\n${USAGE}`);
  const scenario = positionals[0]!;
  if (!scenarioNames.includes(scenario)) {
    throw new Error(`unknown scenario "${scenario}" (known: ${scenarioNames.join(', ')})`);
  }
  if (!(PROFILES as readonly string[]).includes(values.profile)) {
    throw new Error(`--profile must be one of ${PROFILES.join(', ')} (got "${values.profile}")`);
  }
  if (!environmentNames.includes(values.env)) {
    throw new Error(`--env must be one of ${environmentNames.join(', ')} (got "${values.env}")`);
  }
  const slice = values.slice === undefined ? sliceFromEnv(env) : parseSlice(values.slice);
  const startAt = values['start-at'] ?? env.LOADTEST_START_AT;
  // Only what was given, so that a run reads as what the operator asked for.
  return {
    scenario,
    env: values.env,
    profile: values.profile as Profile,
    ...(values.target === undefined ? {} : { target: values.target }),
    ...(values['admin-url'] === undefined ? {} : { adminUrl: values['admin-url'] }),
    ...(values.yes ? { confirmed: true } : {}),
    ...(slice === undefined ? {} : { slice }),
    ...(startAt === undefined ? {} : { startAt: parseStartAt(startAt) }),
    ...(values.out === undefined ? {} : { reportRoot: values.out }),
    ...(values['print-run'] ? { printRun: true } : {}),
  };
}

async function main(): Promise<number> {
  let run;
  try {
    run = parseCommandLine(process.argv.slice(2));
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
  if (run === 'help') {
    console.log(USAGE);
    return 0;
  }
  // Ctrl-C ends the scenario early; the stack is still torn down and the summary written.
  const interrupt = new AbortController();
  process.once('SIGINT', () => interrupt.abort());
  const command = `npm run loadtest -- ${process.argv.slice(2).join(' ')}`;
  const result = await runLoadTest({ ...run, command, signal: interrupt.signal });
  return result.exitCode;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // Exits explicitly: a socket left open by a misbehaving run must not keep the process alive.
  process.exit(await main());
}
