/*
 * Builds src/hub/Dockerfile with podman against the local Node 24 base. The runtime stage is built
 * with the `build` stage supplied as a build context holding the bundle `npm run hub:bundle` makes:
 * the build stage's `npm ci` needs the npm registry, which containers here cannot reach. Users build
 * the Dockerfile as it is, multi-stage, on the public base image.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildHubBundle } from '../../src/hub/build.ts';
import { repoRoot } from '../lib/tools.ts';
import { imageSizeBytes, localImages, podman } from './podman.ts';

export interface HubImage {
  /** `localhost/ringforge/hub:<version>-<bundle hash>`. */
  readonly ref: string;
  readonly sizeBytes: number;
  readonly baseImage: string;
}

export async function buildHubImage(): Promise<HubImage> {
  const context = mkdtempSync(join(tmpdir(), 'rf-hub-image-'));
  const empty = mkdtempSync(join(tmpdir(), 'rf-hub-context-'));
  try {
    const out = join(context, 'out');
    await buildHubBundle(out);
    const hash = createHash('sha256');
    for (const file of readdirSync(out).sort()) hash.update(file).update(readFileSync(join(out, file)));
    const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    const ref = `localhost/ringforge/hub:${version}-${hash.digest('hex').slice(0, 12)}`;
    podman(
      [
        'build',
        '--quiet',
        '--format=docker',
        '--pull=never',
        '--target=runtime',
        `--build-context=build=${context}`,
        `--build-arg=BASE_IMAGE=${localImages.node}`,
        `--tag=${ref}`,
        `--file=${join(repoRoot, 'src/hub/Dockerfile')}`,
        empty,
      ],
      300,
    );
    // One hub image at a time: earlier builds' tags would pile up run after run.
    const earlier = podman([
      'images',
      '--filter',
      'reference=localhost/ringforge/hub',
      '--format',
      '{{.Repository}}:{{.Tag}}',
    ])
      .split('\n')
      .filter((tag) => tag !== '' && tag !== ref);
    if (earlier.length > 0) podman(['rmi', ...earlier]);
    return { ref, sizeBytes: imageSizeBytes(ref), baseImage: localImages.node };
  } finally {
    rmSync(context, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  }
}
