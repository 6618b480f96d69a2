/*
 * `npm run loadtest:merge -- <run dir | summary.json | pod log>... [--out <dir>]`: joins the slices
 * of one distributed run (the pods of the load-test Job, or local runner processes) into one run:
 * their registries merged exactly (histograms added, not percentiles averaged), the thresholds of the
 * scenario evaluated again on the whole, a summary.json written and the threshold table printed.
 * Exit 0 when every threshold passes, 99 when one fails, 1 on an error, as a run does.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { loadEnvironment } from '../environments/index.ts';
import { parseOptions } from './lib/options.ts';
import { Registry } from './lib/registry.ts';
import { writeLoadReport } from './lib/report.ts';
import { filesFromLog } from './lib/run-log.ts';
import { summarize, thresholdTable, type Summary } from './lib/summary.ts';
import { evaluateThresholds, THRESHOLDS_FAILED_EXIT_CODE } from './lib/thresholds.ts';
import { mergeSeries, parseSeries, SERIES_FILE, type Series } from './lib/timeseries.ts';
import { describeIssue } from './lib/validation.ts';
import { scenarioModule } from './run.ts';

const SUMMARY_FILE = 'summary.json';

/** The fields of a runner's summary.json the merge reads; the registry is checked by `Registry.merge`. */
const runSummarySchema = z.object({
  scenario: z.string(),
  environment: z.string(),
  profile: z.string(),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  slice: z.strictObject({ index: z.int().nonnegative(), count: z.int().positive() }).optional(),
  thresholds: z.array(z.object({ key: z.string(), expression: z.string() })),
  registry: z.unknown().refine((r) => r !== undefined, 'is missing: not the summary.json of a load-test run'),
});

type RunSummary = z.infer<typeof runSummarySchema>;

/** One runner's output as the merge reads it: where it came from, its summary and its series. */
export interface RunPart {
  readonly source: string;
  readonly summary: RunSummary;
  readonly series?: Series;
}

/** Reads a run directory, a summary.json, or a pod's saved log (its `loadtest-run:` line). */
export function readRunPart(path: string): RunPart {
  if (!existsSync(path)) throw new Error(`${path}: no such file or directory`);
  let files: Record<string, unknown>;
  let source: string;
  if (statSync(path).isDirectory()) {
    source = join(path, SUMMARY_FILE);
    if (!existsSync(source)) throw new Error(`${source}: missing (is ${path} a load-test run directory?)`);
    files = { [SUMMARY_FILE]: readJson(source) };
    if (existsSync(join(path, SERIES_FILE))) files[SERIES_FILE] = readJson(join(path, SERIES_FILE));
  } else {
    source = path;
    const text = readFileSync(path, 'utf8');
    files = text.trimStart().startsWith('{') ? { [SUMMARY_FILE]: readJson(path) } : filesFromLog(text, path);
  }
  const parsed = runSummarySchema.safeParse(files[SUMMARY_FILE], { reportInput: true });
  if (!parsed.success) {
    throw new Error(`${source}: ${parsed.error.issues.map(describeIssue).join('; ')}`);
  }
  const series =
    files[SERIES_FILE] === undefined ? undefined : parseSeries(files[SERIES_FILE], `${source} ${SERIES_FILE}`);
  return { source, summary: parsed.data, ...(series ? { series } : {}) };
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: not JSON: ${(error as Error).message}`);
  }
}

const thresholdList = (thresholds: readonly { key: string; expression: string }[]) =>
  thresholds.map((t) => `${t.key} ${t.expression}`);

/** Refuses parts that are not the slices of one run: each slice once, all of them, one scenario. */
function checkParts(parts: readonly RunPart[]): void {
  const first = parts[0]!;
  for (const part of parts.slice(1)) {
    for (const field of ['scenario', 'environment', 'profile'] as const) {
      if (part.summary[field] !== first.summary[field]) {
        throw new Error(
          `${part.source}: ${field} is "${part.summary[field]}", but ${first.source} has "${first.summary[field]}": merge the slices of one run`,
        );
      }
    }
  }
  const count = first.summary.slice?.count;
  const seen = new Map<number, string>();
  for (const part of parts) {
    const { slice } = part.summary;
    if (slice === undefined || slice.count !== count) {
      throw new Error(
        `${part.source}: slice is ${slice ? `${slice.index}/${slice.count}` : 'absent (a whole run)'}, but ${first.source} is ${count === undefined ? 'a whole run' : `one of ${count} slices`}: merge the slices of one run`,
      );
    }
    const other = seen.get(slice.index);
    if (other !== undefined) throw new Error(`${part.source}: slice ${slice.index}/${count} is also ${other}`);
    seen.set(slice.index, part.source);
  }
  const missing = Array.from({ length: count! }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length > 0) {
    throw new Error(`slice ${missing.map((i) => `${i}/${count}`).join(', ')} missing: give every slice of the run`);
  }
}

/** The thresholds of the scenario for that environment and profile, as a run evaluates them. */
function scenarioThresholds(summary: RunSummary, source: string) {
  const module = scenarioModule(summary.scenario);
  if (!module) throw new Error(`${source}: scenario "${summary.scenario}" is not one this runner knows`);
  const env = loadEnvironment(summary.environment);
  if (summary.profile !== 'smoke' && summary.profile !== 'full') {
    throw new Error(`${source}: profile "${summary.profile}" is not smoke or full`);
  }
  return parseOptions(module.options(env.slo, summary.profile)).thresholds;
}

export interface MergedRun {
  readonly summary: Summary;
  readonly series?: Series;
}

/** The parts merged into one run, thresholds evaluated on the whole; throws naming the part at fault. */
export function mergeParts(parts: readonly RunPart[]): MergedRun {
  if (parts.length === 0) throw new Error('give at least one run to merge');
  checkParts(parts);
  const first = parts[0]!;
  const thresholds = scenarioThresholds(first.summary, first.source);
  const expected = thresholdList(thresholds);
  for (const part of parts) {
    const got = thresholdList(part.summary.thresholds);
    if (got.join('\n') !== expected.join('\n')) {
      throw new Error(
        `${part.source}: thresholds are [${got.join(', ')}], but the ${first.summary.scenario} scenario's for ${first.summary.environment}/${first.summary.profile} are [${expected.join(', ')}]`,
      );
    }
  }
  const registry = Registry.merge(
    parts.map((part) => {
      try {
        // Checked one by one so that an invalid snapshot names its file.
        Registry.merge([part.summary.registry]);
      } catch (error) {
        throw new Error(`${part.source}: registry: ${(error as Error).message}`);
      }
      return part.summary.registry;
    }),
  );
  const withSeries = parts.filter((p) => p.series);
  if (withSeries.length !== 0 && withSeries.length !== parts.length) {
    const without = parts.find((p) => !p.series)!;
    throw new Error(`${without.source}: has no ${SERIES_FILE}, but ${withSeries[0]!.source} has`);
  }
  let series = withSeries[0]?.series;
  for (const part of withSeries.slice(1)) {
    try {
      series = mergeSeries(series!, part.series!);
    } catch (error) {
      throw new Error(`${part.source}: ${SERIES_FILE}: ${(error as Error).message}`);
    }
  }
  const times = (field: 'startedAt' | 'finishedAt') => parts.map((p) => p.summary[field]).sort();
  const summary = summarize(registry, evaluateThresholds(registry, thresholds), {
    scenario: first.summary.scenario,
    environment: first.summary.environment,
    profile: first.summary.profile,
    startedAt: times('startedAt')[0]!,
    finishedAt: times('finishedAt').at(-1)!,
    mergedFrom: parts.map((p) => p.source),
  });
  return { summary, ...(series ? { series } : {}) };
}

/** Writes the merged run's files into `dir`; the report only when the runs brought their series. */
function writeMergedRun(dir: string, merged: MergedRun, command: string): { summaryPath: string; reportPath?: string } {
  mkdirSync(dir, { recursive: true });
  const summaryPath = join(dir, SUMMARY_FILE);
  writeFileSync(summaryPath, `${JSON.stringify(merged.summary, null, 2)}\n`);
  if (!merged.series) return { summaryPath };
  writeFileSync(join(dir, SERIES_FILE), `${JSON.stringify(merged.series)}\n`);
  const [reportPath] = writeLoadReport(dir, { summary: merged.summary, series: merged.series, command });
  return { summaryPath, ...(reportPath ? { reportPath } : {}) };
}

const DEFAULT_REPORT_ROOT = fileURLToPath(new URL('../reports/loadtest', import.meta.url));

const USAGE = `usage: npm run loadtest:merge -- <run dir | summary.json | pod log>... [--out <dir>]
  Merges the slices of one distributed run exactly and evaluates the scenario's thresholds on the whole.
  --out  the merged run's directory (default reports/loadtest/<timestamp>-<scenario>-merged)`;

export interface MergeResult {
  readonly exitCode: 0 | 1 | typeof THRESHOLDS_FAILED_EXIT_CODE;
  readonly summary?: Summary;
  readonly summaryPath?: string;
  readonly error?: Error;
}

/** Merges the runs at `paths` into `out`; never throws: an error is exit code 1 with the error. */
export function mergeRuns(
  paths: readonly string[],
  out?: string,
  print = (line: string) => console.log(line),
): MergeResult {
  try {
    const merged = mergeParts(paths.map(readRunPart));
    const { summary } = merged;
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const dir = out ?? join(DEFAULT_REPORT_ROOT, `${stamp}-${summary.scenario}-merged`);
    const command = `npm run loadtest:merge -- ${paths.join(' ')}`;
    const { summaryPath, reportPath } = writeMergedRun(dir, merged, command);
    print(`${summary.scenario}: merged ${paths.length} runs (${paths.map((p) => basename(p)).join(', ')})`);
    print('');
    print(thresholdTable(summary));
    print('');
    print(`${summary.scenario}: ${summary.passed ? 'all thresholds passed' : 'thresholds FAILED'}; ${summaryPath}`);
    print(
      `${summary.scenario}: ${reportPath ? `report ${reportPath}` : `no report: the runs brought no ${SERIES_FILE}`}`,
    );
    return { exitCode: summary.passed ? 0 : THRESHOLDS_FAILED_EXIT_CODE, summary, summaryPath };
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    print(`merge: error: ${err.message}`);
    return { exitCode: 1, error: err };
  }
}

function main(): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      allowPositionals: true,
      options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 1;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  if (parsed.positionals.length === 0) {
    console.error(`give the runs to merge\n${USAGE}`);
    return 1;
  }
  return mergeRuns(parsed.positionals, parsed.values.out).exitCode;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exit(main());
