/*
 * `npm run loadtest -- <scenario> [--env <name>] [--profile smoke|full]`: runs one load test
 * against a local stack (Postgres, Redis, two hubs behind HAProxy), prints progress and a threshold
 * table, and writes reports/loadtest/<timestamp>-<scenario>/summary.json. Exit 0 when every
 * threshold passes, 99 when one fails, 1 on an error.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { environmentNames, loadEnvironment } from '../environments/index.ts';
import { repoRoot } from '../scripts/lib/tools.ts';
import { openConnections } from './lib/agents.ts';
import { withTimeout } from './lib/bounded.ts';
import { runScenario, type Iteration } from './lib/executors.ts';
import { parseOptions, type OptionsInput } from './lib/options.ts';
import { Registry } from './lib/registry.ts';
import { PROFILES, type LoadTestModule, type Profile } from './lib/scenario.ts';
import { startLocalStack, type Target } from './lib/stack.ts';
import { summarize, thresholdTable, type Summary } from './lib/summary.ts';
import { abortingFailures, evaluateThresholds, THRESHOLDS_FAILED_EXIT_CODE } from './lib/thresholds.ts';
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

export interface LoadTestRun {
  readonly scenario: string;
  /** @default 'local' */
  readonly env?: string;
  /** @default 'smoke' */
  readonly profile?: Profile;
  /** Replaces the module's options (tests use it for short runs and impossible thresholds). */
  readonly options?: (defaults: OptionsInput) => OptionsInput;
  /** @default reports/loadtest */
  readonly reportRoot?: string;
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

/** Runs one load test to its end; never throws: an error is exit code 1 with the error. */
export async function runLoadTest(run: LoadTestRun): Promise<LoadTestResult> {
  const print = run.print ?? ((line: string) => console.log(line));
  const profile = run.profile ?? 'smoke';
  const envName = run.env ?? 'local';
  let target: (Target & { stop(): Promise<void> }) | undefined;
  try {
    const module = SCENARIOS[run.scenario];
    if (!module) throw new Error(`unknown scenario "${run.scenario}" (known: ${scenarioNames.join(', ')})`);
    const env = loadEnvironment(envName);
    if (env.platform !== 'laptop') {
      throw new Error(`--env ${envName}: only a laptop environment (local) is supported for now`);
    }
    const defaults = module.options(env.slo, profile);
    const options = parseOptions(run.options ? run.options(defaults) : defaults);
    for (const [name, scenario] of Object.entries(options.scenarios)) {
      if (!module.exec[scenario.exec]) {
        throw new Error(`scenarios.${name}.exec: ${run.scenario} exports no iteration function "${scenario.exec}"`);
      }
    }

    const startedAt = new Date().toISOString();
    target = await startLocalStack(print);
    const registry = new Registry();
    const abort = new AbortController();
    const signal = run.signal ? AbortSignal.any([run.signal, abort.signal]) : abort.signal;
    print(`${run.scenario}: setup`);
    const data = await withTimeout(module.setup({ target, profile, registry, signal }), SETUP_TIMEOUT_MS, 'setup');

    const origin = performance.now();
    let errorsShown = 0;
    const tick = setInterval(() => {
      const elapsed = performance.now() - origin;
      const p95 = registry.trend(module.progressTrend).select().percentile(95);
      const iterations = registry.counter('iterations').select().count;
      print(
        `${run.scenario}: ${(elapsed / 1000).toFixed(0)}s iterations=${iterations} connections=${openConnections()}` +
          ` ${module.progressTrend} p95=${p95 === undefined ? '-' : p95.toFixed(1)}ms`,
      );
      const failing = abortingFailures(evaluateThresholds(registry, options.thresholds), elapsed);
      if (failing.length > 0) {
        print(
          `${run.scenario}: aborting, ${failing.map((f) => `${f.threshold.key} ${f.threshold.expression}`).join(', ')} failed`,
        );
        abort.abort();
      }
    }, run.progressEveryMs ?? 3_000);
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
              if (errorsShown++ < 5) print(`${name}: iteration failed: ${(error as Error).message}`);
            },
          });
        }),
      );
    } finally {
      clearInterval(tick);
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
    });
    const dir = join(run.reportRoot ?? join(repoRoot, 'reports', 'loadtest'), `${timestamp()}-${run.scenario}`);
    mkdirSync(dir, { recursive: true });
    const summaryPath = join(dir, 'summary.json');
    writeFileSync(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
    print('');
    print(thresholdTable(summary));
    print('');
    print(`${run.scenario}: ${verdict.passed ? 'all thresholds passed' : 'thresholds FAILED'}; ${summaryPath}`);
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

const USAGE = `usage: npm run loadtest -- <scenario> [--env <name>] [--profile smoke|full]
  scenarios: ${scenarioNames.join(', ')}
  --env      environment whose SLOs are the thresholds (default local; known: ${environmentNames.join(', ')})
  --profile  smoke (small, under ~30 s) or full (default smoke)`;

/** The command line into a run; throws with a message naming the flag. */
export function parseCommandLine(args: readonly string[]): LoadTestRun | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        env: { type: 'string', default: 'local' },
        profile: { type: 'string', default: 'smoke' },
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
  return { scenario, env: values.env, profile: values.profile as Profile };
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
  const result = await runLoadTest({ ...run, signal: interrupt.signal });
  return result.exitCode;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // Exits explicitly: a socket left open by a misbehaving run must not keep the process alive.
  process.exit(await main());
}
