/* Writing environments/images.json (or a copy of it): a release records dev, a promotion copies a record. */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  RELEASE_ENVIRONMENTS,
  readImages,
  type ImageRecord,
  type ImageRecords,
  type ReleaseEnvironment,
} from '../../environments/images.ts';
import { repoRoot } from '../lib/tools.ts';

/** Writes the records in promotion order, formatted as prettier leaves JSON. */
function writeImages(path: string, records: ImageRecords): void {
  const ordered = Object.fromEntries(
    RELEASE_ENVIRONMENTS.flatMap((env) => (records[env] ? [[env, records[env]]] : [])),
  );
  writeFileSync(path, `${JSON.stringify(ordered, null, 2)}\n`);
}

export function recordImage(path: string, env: ReleaseEnvironment, record: ImageRecord): void {
  writeImages(path, { ...(existsSync(path) ? readImages(path) : {}), [env]: record });
}

export function isReleaseEnvironment(name: string): name is ReleaseEnvironment {
  return (RELEASE_ENVIRONMENTS as readonly string[]).includes(name);
}

/** Copies `from`'s record to `to` unchanged (never rebuilt) and returns it. */
export function promoteImage(path: string, from: string, to: string): ImageRecord {
  for (const [role, name] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (!isReleaseEnvironment(name)) {
      throw new Error(`<${role}-env>: must be one of ${RELEASE_ENVIRONMENTS.join(', ')} (got "${name}")`);
    }
  }
  if (from === to) throw new Error(`<to-env>: must differ from <from-env> (both "${from}")`);
  const records = readImages(path);
  const record = records[from as ReleaseEnvironment];
  if (record === undefined) {
    throw new Error(`${path}: ${from} has no image to promote (release one with \`npm run release\`)`);
  }
  writeImages(path, { ...records, [to]: record });
  return record;
}

/** Regenerates dist/ from the environment files, as `npm run synth` does. */
export function synthesize(): void {
  const synth = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts', 'synth.ts')], {
    cwd: repoRoot,
    stdio: 'inherit',
  });
  if (synth.status !== 0) throw new Error(`npm run synth failed (exit ${synth.status})`);
}
