/*
 * A finished pod's files are out of reach (`kubectl cp` needs a running container), its log is not:
 * a runner in a pod prints its run directory's JSON files (summary.json, series.json) on one log
 * line, and `npm run loadtest:merge` reads them back from the saved log.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const RUN_LOG_PREFIX = 'loadtest-run: ';

/** Every JSON file of `dir` on one line, by file name. */
export function runLogLine(dir: string): string {
  const files = Object.fromEntries(
    readdirSync(dir)
      .filter((name) => name.endsWith('.json'))
      .sort()
      .map((name) => [name, JSON.parse(readFileSync(join(dir, name), 'utf8')) as unknown]),
  );
  return `${RUN_LOG_PREFIX}${JSON.stringify(files)}`;
}

/** The files a log's run line carries; `source` names the log in errors. */
export function filesFromLog(text: string, source: string): Record<string, unknown> {
  // `kubectl logs --timestamps` puts a time before the prefix.
  const lines = text.split('\n').filter((line) => line.includes(RUN_LOG_PREFIX));
  if (lines.length !== 1) {
    throw new Error(
      `${source}: expected one "${RUN_LOG_PREFIX.trim()}" line (a runner's log with --print-run), found ${lines.length}`,
    );
  }
  const json = lines[0]!.slice(lines[0]!.indexOf(RUN_LOG_PREFIX) + RUN_LOG_PREFIX.length);
  let files;
  try {
    files = JSON.parse(json) as unknown;
  } catch (error) {
    throw new Error(`${source}: the run line is not JSON (a truncated log?): ${(error as Error).message}`);
  }
  if (typeof files !== 'object' || files === null || Array.isArray(files)) {
    throw new Error(`${source}: the run line must hold an object of files by name`);
  }
  return files as Record<string, unknown>;
}
