/*
 * The servers the fan-out comparison runs beside the hub, two nodes each on one local Redis:
 * Centrifugo v6 (the toolchain's build, Redis engine, insecure client mode so clients need no
 * tokens: the bench measures delivery, not authentication) and the bare relay.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnServer } from '../lib/local-services.ts';
import { repoRoot, tool } from '../lib/tools.ts';

export interface Nodes {
  /** One WebSocket URL per node. */
  readonly urls: string[];
  /** The nodes' processes, whose CPU time the comparison reads. */
  readonly pids: number[];
  stop(): Promise<void>;
}

const NODES = 2;

async function startNodes(
  name: string,
  start: (index: number, port: number, dir: string) => Promise<{ readonly pid: number; stop(): Promise<void> }>,
  path: string,
): Promise<Nodes> {
  const started: { readonly pid: number; stop(): Promise<void> }[] = [];
  const urls: string[] = [];
  try {
    for (let i = 0; i < NODES; i++) {
      const port = await freePort();
      started.push(await start(i, port, mkdtempSync(join(tmpdir(), `rf-bench-${name}-`))));
      urls.push(`ws://127.0.0.1:${port}${path}`);
    }
  } catch (error) {
    await Promise.all(started.map((node) => node.stop()));
    throw error;
  }
  return {
    urls,
    pids: started.map((node) => node.pid),
    stop: async () => void (await Promise.all(started.map((node) => node.stop()))),
  };
}

export function startCentrifugo(redisUrl: string): Promise<Nodes> {
  const binary = tool('centrifugo');
  return startNodes(
    'centrifugo',
    (index, port, dir) => {
      const config = join(dir, 'config.json');
      writeFileSync(
        config,
        JSON.stringify({
          http_server: { address: '127.0.0.1', port },
          client: { insecure: true },
          engine: { type: 'redis', redis: { address: [redisUrl], prefix: 'bench-centrifugo' } },
          log: { level: 'error' },
          usage_stats: { disabled: true },
        }),
      );
      return spawnServer({ name: `centrifugo-${index}`, binary, args: ['--config', config], dir, port });
    },
    '/connection/websocket',
  );
}

export function startRelay(redisUrl: string): Promise<Nodes> {
  return startNodes(
    'relay',
    (index, port, dir) =>
      spawnServer({
        name: `relay-${index}`,
        binary: process.execPath,
        args: ['--import', 'tsx', join(repoRoot, 'scripts', 'bench', 'relay.ts'), redisUrl, String(port)],
        dir,
        port,
      }),
    '/',
  );
}
