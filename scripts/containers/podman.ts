/* Running podman the project's way: its containers.conf, bounded in time, failures that say what failed. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { toolsDir, toolVersions } from '../lib/tools.ts';

/** The containers.conf scripts/containers/podman-setup.sh writes (runc, cgroupfs, no default ulimits). */
export const podmanConf = join(toolsDir, 'containers', 'containers.conf');

/** The local images images/build.sh builds, by role. */
export const localImages = {
  node: toolVersions.LOCAL_NODE_IMAGE!,
  postgres: toolVersions.LOCAL_POSTGRES_IMAGE!,
  valkey: toolVersions.LOCAL_VALKEY_IMAGE!,
  nginx: toolVersions.LOCAL_NGINX_IMAGE!,
  redisExporter: toolVersions.LOCAL_REDIS_EXPORTER_IMAGE!,
  prometheus: toolVersions.LOCAL_PROMETHEUS_IMAGE!,
  alertmanager: toolVersions.LOCAL_ALERTMANAGER_IMAGE!,
  nodeExporter: toolVersions.LOCAL_NODE_EXPORTER_IMAGE!,
  postgresExporter: toolVersions.LOCAL_POSTGRES_EXPORTER_IMAGE!,
} as const;

export function podmanEnv(): NodeJS.ProcessEnv {
  return { ...process.env, CONTAINERS_CONF: podmanConf };
}

/** Fails with what to do when podman or the project's configuration is missing. */
export function requirePodman(): void {
  const version = spawnSync('podman', ['--version'], { encoding: 'utf8' });
  if (version.error !== undefined || version.status !== 0) {
    throw new Error('podman is not installed: run `npm run toolchain` (as root) to install and configure it');
  }
  if (!existsSync(podmanConf)) throw new Error(`${podmanConf} is missing: run \`npm run toolchain\``);
}

/** Runs a command with the project's podman configuration; returns its trimmed stdout or throws. */
export function run(command: string, args: readonly string[], timeoutSeconds = 120, cwd?: string): string {
  const result = spawnSync(command, args, { env: podmanEnv(), encoding: 'utf8', timeout: timeoutSeconds * 1000, cwd });
  if (result.error !== undefined) {
    throw new Error(`${command} ${args.join(' ')}: ${result.error.message} (limit ${timeoutSeconds}s)`);
  }
  if (result.status !== 0) {
    const output = `${result.stderr}${result.stdout}`.trim().slice(-3000);
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}):\n${output}`);
  }
  return result.stdout.trim();
}

export const podman = (args: readonly string[], timeoutSeconds?: number): string => run('podman', args, timeoutSeconds);

/** Size in bytes of a local image, as `podman images` reports it (uncompressed layers). */
export function imageSizeBytes(ref: string): number {
  return Number(podman(['image', 'inspect', '--format', '{{.Size}}', ref]));
}

/** Polls until the check returns true, or fails naming what was awaited. */
export async function waitFor(
  what: string,
  timeoutSeconds: number,
  check: () => boolean | Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what}: not within ${timeoutSeconds}s`);
}
