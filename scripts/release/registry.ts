/*
 * A real OCI registry on loopback: the CNCF distribution registry Debian packages as docker-registry,
 * run with a configuration written here (127.0.0.1, a free port, storage in a temporary directory),
 * never the package's /etc configuration, which listens on every interface. The release test pushes,
 * signs and pulls through it; `npm run registry` serves one for people until Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../lib/local-services.ts';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';

export interface LoopbackRegistry {
  /** `127.0.0.1:<port>`, the host part of image references pushed to it. */
  readonly address: string;
  /** Stops the registry and removes its storage; safe to call more than once. */
  stop(): Promise<void>;
}

/** Fails with what to do when the registry package is missing. */
export function requireRegistry(): void {
  if (!existsSync(REGISTRY_BINARY)) {
    throw new Error(`${REGISTRY_BINARY} is missing: run \`npm run toolchain\` (as root) to install docker-registry`);
  }
}

function config(storage: string, port: number): string {
  return [
    'version: 0.1',
    'log: {level: warn}',
    'storage:',
    `  filesystem: {rootdirectory: ${JSON.stringify(storage)}}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '',
  ].join('\n');
}

/** Answers once the registry serves its API root (`/v2/` answers 200 without authentication). */
async function serving(address: string): Promise<boolean> {
  try {
    return (await fetch(`http://${address}/v2/`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

export async function startRegistry(
  options: { port?: number; startTimeoutSeconds?: number } = {},
): Promise<LoopbackRegistry> {
  requireRegistry();
  const dir = mkdtempSync(join(tmpdir(), 'rf-registry-'));
  const port = options.port ?? (await freePort());
  const address = `127.0.0.1:${port}`;
  writeFileSync(join(dir, 'config.yml'), config(join(dir, 'data'), port));
  const child = spawn(REGISTRY_BINARY, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-3000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A crashed or interrupted run leaves no registry listening behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killTimer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.startTimeoutSeconds ?? 15) * 1000;
  while (!(await serving(address))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not serve http://${address}/v2/ in time:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { address, stop };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { port: { type: 'string' } } });
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port >= 1024 && port <= 65535)) {
    console.error(`registry: --port must be an integer from 1024 to 65535 (got ${values.port})`);
    process.exit(2);
  }
  try {
    const registry = await startRegistry({ port });
    console.log(`registry: serving http://${registry.address}/v2/ (loopback only, storage removed on exit)`);
    console.log(
      `registry: release to it with npm run release -- --registry ${registry.address}/ringforge --key <cosign.key> --plain-http`,
    );
    const shutdown = () => void registry.stop().then(() => process.exit(0));
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  } catch (err) {
    console.error(`registry: ${(err as Error).message}`);
    process.exit(1);
  }
}
