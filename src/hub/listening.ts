import { spawn, type ChildProcess } from 'node:child_process';
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

/**
 * `src/hub/main.ts` as its own process, for benchmarks and attack runs that measure it alone; its
 * log goes to the caller's stdout only as far as the `hub listening` line, which gives the ports.
 */
export function spawnHub(env: Readonly<Record<string, string>>): {
  readonly child: ChildProcess;
  readonly listening: Promise<ListeningPorts>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/hub/main.ts'], {
    cwd: repoRoot,
    env: { ...process.env, HUB_PORT: '0', HUB_ADMIN_PORT: '0', ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const listening = new Promise<ListeningPorts>((found, reject) => {
    const timer = setTimeout(() => reject(new Error('the hub did not start within 60 s')), 60_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const ports = listeningPorts(line);
      if (ports === undefined) return;
      clearTimeout(timer);
      found(ports);
    });
  });
  return { child, listening };
}
