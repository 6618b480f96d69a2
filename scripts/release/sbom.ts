/*
 * The released image's software bill of materials: syft, built by `npm run toolchain`, reads the
 * image from the registry by digest (so the SBOM describes what was pushed, not a local copy) and
 * writes SPDX JSON, which cosign then attests.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { toolsDir } from '../lib/tools.ts';
import type { RegistryAccess } from './cosign.ts';

export function syftBinary(): string {
  const path = join(toolsDir, 'bin', 'syft');
  if (!existsSync(path)) throw new Error(`syft is not installed in ${toolsDir}/bin: run \`npm run toolchain\` first`);
  return path;
}

/** Writes the SPDX JSON SBOM of `<repository>@<digest>` to `out`. */
export function writeSbom(ref: string, out: string, access: RegistryAccess): void {
  const result = spawnSync(syftBinary(), ['scan', `registry:${ref}`, '--quiet', '--output', `spdx-json=${out}`], {
    env: {
      ...process.env,
      SYFT_REGISTRY_INSECURE_USE_HTTP: String(access.plainHttp),
      // No update check: it would reach out to the internet on every release.
      SYFT_CHECK_FOR_APP_UPDATE: 'false',
    },
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (result.error !== undefined) throw new Error(`syft scan ${ref}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`syft scan ${ref} failed (exit ${result.status}):\n${result.stderr.trim().slice(-3000)}`);
  }
}
