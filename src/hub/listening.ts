import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The ports a hub process bound, as its `hub listening` log line reports them. */
export interface ListeningPorts {
  readonly port: number;
  readonly adminPort: number;
}

/** Reads one line of the hub's JSON log; the ports once it is the `hub listening` line, else undefined. */
export function listeningPorts(line: string): ListeningPorts | undefined {
  if (!line.startsWith('{')) return undefined;
  let entry: { msg?: unknown; port?: unknown; adminPort?: unknown };
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    return undefined;
  }
  if (typeof entry.msg !== 'string' || !entry.msg.startsWith('hub listening')) return undefined;
  if (typeof entry.port !== 'number' || typeof entry.adminPort !== 'number') return undefined;
  return { port: entry.port, adminPort: entry.adminPort };
}

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface SpawnOptions {
  /** Arguments for Node itself: a benchmark's `--cpu-prof` or `--inspect`. */
  readonly nodeArgs?: readonly string[];
  /**
   * Where the hub's log goes. By default it goes through a pipe to this process, which a load
   * generator busy with thousands of sockets reads late; the hub then blocks on a full pipe. A file
   * takes whatever the hub writes at once.
   */
  readonly logFile?: string;
}

/**
 * `src/hub/main.ts` as its own process, for benchmarks and attack runs that measure it alone; its
 * ports come from its `hub listening` log line.
 */
export function spawnHub(
  env: Readonly<Record<string, string>>,
  options: SpawnOptions = {},
): {
  readonly child: ChildProcess;
  readonly listening: Promise<ListeningPorts>;
} {
  const log = options.logFile === undefined ? 'pipe' : openSync(options.logFile, 'w');
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', 'src/hub/main.ts'], {
    cwd: repoRoot,
    env: { ...process.env, HUB_PORT: '0', HUB_ADMIN_PORT: '0', ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', log, 'inherit'],
  });
  if (typeof log === 'number') closeSync(log);
  const listening = new Promise<ListeningPorts>((found, reject) => {
    const timer = setTimeout(() => {
      clearInterval(poll);
      reject(new Error('the hub did not start within 60 s'));
    }, 60_000);
    const foundIn = (line: string) => {
      const ports = listeningPorts(line);
      if (ports === undefined) return false;
      clearTimeout(timer);
      clearInterval(poll);
      found(ports);
      return true;
    };
    const poll =
      options.logFile === undefined
        ? undefined
        : setInterval(() => readFileSync(options.logFile!, 'utf8').split('\n').some(foundIn), 100);
    if (child.stdout !== null) createInterface({ input: child.stdout }).on('line', foundIn);
  });
  return { child, listening };
}
