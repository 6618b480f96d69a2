/*
 * A real OCI registry on loopback: the CNCF distribution registry Debian packages as docker-registry,
 * run with a configuration written here (127.0.0.1, a free port, storage in a temporary directory),
 * never the package's /etc configuration, which listens on every interface. The release test pushes,
 * signs and pulls through it; `npm run registry` serves one for people until Ctrl-C.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, spawnServer } from '../lib/local-services.ts';

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

export async function startRegistry(
  options: { port?: number; startTimeoutSeconds?: number } = {},
): Promise<LoopbackRegistry> {
  requireRegistry();
  const dir = mkdtempSync(join(tmpdir(), 'rf-registry-'));
  const port = options.port ?? (await freePort());
  writeFileSync(join(dir, 'config.yml'), config(join(dir, 'data'), port));
  const server = await spawnServer({
    name: 'docker-registry',
    binary: REGISTRY_BINARY,
    args: ['serve', join(dir, 'config.yml')],
    dir,
    port,
    startTimeoutSeconds: options.startTimeoutSeconds,
  });
  return { address: `127.0.0.1:${port}`, stop: server.stop };
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
