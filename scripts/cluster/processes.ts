/*
 * The cluster's daemons as detached processes: each logs to logs/<name>.log and leaves its pid in
 * run/<name>.pid, so `down` and `status` find exactly the processes `up` started (the pid's command
 * line must still be the recorded binary: a reused pid is never signalled).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../containers/podman.ts';
import { repoRoot } from '../lib/tools.ts';
import { logDir, runDir } from './layout.ts';

export interface Daemon {
  readonly name: string;
  readonly binary: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** True once the daemon serves; `start` waits for it. */
  readonly ready: () => Promise<boolean>;
  readonly readySeconds: number;
}

export const logFile = (name: string) => join(logDir, `${name}.log`);
const pidFile = (name: string) => join(runDir, `${name}.pid`);

/** The pid of the named daemon if it is running the binary it was started with. */
export function runningPid(name: string): number | undefined {
  if (!existsSync(pidFile(name))) return undefined;
  const [pid, binary] = readFileSync(pidFile(name), 'utf8').trim().split('\n');
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (cmdline[0] === binary) return Number(pid);
  } catch {
    // No such process.
  }
  return undefined;
}

export function tail(file: string, lines = 30): string {
  if (!existsSync(file)) return `(no log at ${file})`;
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Starts the daemon unless it runs already, and waits until it is ready; on failure shows its log.
 * Returns whether it was started now.
 */
export async function start(daemon: Daemon): Promise<boolean> {
  mkdirSync(logDir, { recursive: true });
  mkdirSync(runDir, { recursive: true });
  let pid = runningPid(daemon.name);
  const running = pid !== undefined;
  if (!running) {
    const log = openSync(logFile(daemon.name), 'a');
    const child = spawn(daemon.binary, daemon.args, {
      detached: true,
      cwd: repoRoot,
      stdio: ['ignore', log, log],
      env: { ...process.env, ...daemon.env },
    });
    closeSync(log);
    child.unref();
    pid = child.pid!;
    writeFileSync(pidFile(daemon.name), `${pid}\n${daemon.binary}\n`);
  }
  const started = Date.now();
  try {
    await waitFor(`${daemon.name} ready`, daemon.readySeconds, async () => {
      if (runningPid(daemon.name) === undefined) throw new Error(`${daemon.name} exited`);
      return daemon.ready().catch(() => false);
    });
  } catch (error) {
    throw new Error(`${(error as Error).message} (log ${logFile(daemon.name)}):\n${tail(logFile(daemon.name))}`);
  }
  const took = `${((Date.now() - started) / 1000).toFixed(1)}s`;
  console.log(`[cluster] ${daemon.name}: ${running ? 'already running' : 'ready'} (pid ${pid}, ${took})`);
  return !running;
}

/** SIGTERM, then SIGKILL after the grace period; a daemon that is not running is fine. */
export async function stop(name: string, graceSeconds = 15): Promise<void> {
  const pid = runningPid(name);
  if (pid === undefined) {
    rmSync(pidFile(name), { force: true });
    return;
  }
  process.kill(pid, 'SIGTERM');
  try {
    await waitFor(`${name} exit`, graceSeconds, () => runningPid(name) === undefined);
  } catch {
    console.log(`[cluster] ${name}: still running after ${graceSeconds}s, killing`);
    process.kill(pid, 'SIGKILL');
    await waitFor(`${name} exit after SIGKILL`, 10, () => runningPid(name) === undefined);
  }
  rmSync(pidFile(name), { force: true });
  console.log(`[cluster] ${name}: stopped`);
}
