/* A hub running as its own process (tsx sources, `npm run hub` or the esbuild bundle), as in production. */
import { spawn, type ChildProcess } from 'node:child_process';
import { repoRoot } from '../../../scripts/lib/tools.ts';
import { listeningPorts, type ListeningPorts } from '../../../src/hub/listening.ts';

export interface HubProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly adminUrl: string;
  /** Every JSON log line so far. */
  readonly logs: any[];
  readonly exited: Promise<number | null>;
  /** Resolves when every process writing to stdout (npm and the hub under it) has closed it. */
  readonly outputClosed: Promise<void>;
  /** Sends SIGTERM (to the whole process group) and waits for the exit code. */
  terminate(): Promise<number | null>;
}

export async function startHubProcess(
  command: readonly string[],
  env: Record<string, string>,
  startTimeoutMs = 60_000,
): Promise<HubProcess> {
  const child = spawn(command[0]!, command.slice(1), {
    cwd: repoRoot,
    env: { ...process.env, HUB_PORT: '0', HUB_ADMIN_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const logs: any[] = [];
  let stderr = '';
  let buffer = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const outputClosed = new Promise<void>((resolve) => child.stdout!.once('close', () => resolve()));
  const ports = await new Promise<ListeningPorts>((resolve, reject) => {
    const timer = setTimeout(() => {
      // A hub that never said it listens must not outlive the test that started it.
      process.kill(-child.pid!, 'SIGKILL');
      reject(new Error(`hub did not start within ${startTimeoutMs} ms: ${stderr}`));
    }, startTimeoutMs);
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line);
        logs.push(entry);
        const listening = listeningPorts(line);
        if (listening !== undefined) {
          clearTimeout(timer);
          resolve(listening);
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`hub exited with ${code} before listening: ${stderr}`));
    });
  });
  return {
    child,
    port: ports.port,
    httpUrl: `http://127.0.0.1:${ports.port}`,
    wsUrl: `ws://127.0.0.1:${ports.port}/ws`,
    adminUrl: `http://127.0.0.1:${ports.adminPort}`,
    logs,
    exited,
    outputClosed,
    async terminate() {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
      return exited;
    },
  };
}

export const TSX_HUB = [process.execPath, '--import', 'tsx', 'src/hub/main.ts'];

/** The hub's /api/ready answer: its status and body, or why it gave none within 2 s. */
export async function readiness(hub: HubProcess): Promise<{ ok: boolean; status?: number; body?: any; said: string }> {
  try {
    const response = await fetch(`${hub.httpUrl}/api/ready`, { signal: AbortSignal.timeout(2_000) });
    const text = await response.text();
    return {
      ok: response.status === 200,
      status: response.status,
      body: JSON.parse(text),
      said: `${response.status} ${text}`,
    };
  } catch (error) {
    return { ok: false, said: String(error) };
  }
}

/** What a hub said about Redis since a moment, and its readiness now: the evidence a failed wait is reported with. */
export async function redisStory(hub: HubProcess, since: number): Promise<string> {
  const lines = hub.logs
    .filter((l) => Date.parse(l.time) >= since && (l.role !== undefined || l.level >= 40))
    .slice(-20)
    .map((l) => `  ${l.time} ${l.role ?? '-'} ${l.msg}${l.err ? `: ${l.err}` : ''}`);
  return [`ready: ${(await readiness(hub)).said}`, ...lines].join('\n');
}

/** Waits for a check on hubs; a failure also says what each hub logged about Redis since `since`. */
export async function explainedByRedis(wait: Promise<void>, hubs: readonly HubProcess[], since: number): Promise<void> {
  await wait.catch(async (error: Error) => {
    const stories = await Promise.all(hubs.map((hub) => redisStory(hub, since)));
    throw new Error(
      [error.message, ...stories.map((story, i) => `hub ${i}, since ${new Date(since).toISOString()}:\n${story}`)].join(
        '\n',
      ),
    );
  });
}
