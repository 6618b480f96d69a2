/*
 * Images for the nodes, which can pull from no registry: the pause image is packed here as a docker
 * archive around the statically linked pause program, and the project's local images (images/build.sh,
 * the hub image) are saved from podman once and imported into each node's containerd (k8s.io namespace).
 * An image whose id a node's containerd already has under the same name is not imported there again.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';
import { buildHubImage } from '../containers/hub-image.ts';
import { podman, podmanConf } from '../containers/podman.ts';
import { repoRoot } from '../lib/tools.ts';
import { binaries, nodes, pauseImage, type NodeLayout } from './layout.ts';

/** crictl against one node's containerd. */
export const crictl = (node: NodeLayout, args: readonly string[]) => {
  const endpoint = `unix://${node.containerdSocket}`;
  return $({ quiet: true })`${binaries.crictl} --runtime-endpoint ${endpoint} --image-endpoint ${endpoint} ${args}`;
};

async function ctrImport(node: NodeLayout, archive: string): Promise<void> {
  await $({ quiet: true })`${binaries.ctr} --address ${node.containerdSocket} -n k8s.io images import ${archive}`;
}

/** Image ids (config digests) by name, as the node's kubelet sees them. */
async function nodeImages(node: NodeLayout): Promise<Map<string, string>> {
  const listed = JSON.parse((await crictl(node, ['images', '-o', 'json'])).stdout) as {
    images: { id: string; repoTags: string[] | null }[];
  };
  return new Map(listed.images.flatMap((image) => (image.repoTags ?? []).map((tag) => [tag, image.id])));
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

export async function importPauseImage(node: NodeLayout): Promise<void> {
  if ((await nodeImages(node)).has(pauseImage)) return;
  const dir = mkdtempSync(join(tmpdir(), 'rf-pause-'));
  try {
    mkdirSync(join(dir, 'rootfs'));
    copyFileSync(binaries.pause, join(dir, 'rootfs', 'pause'));
    await $`tar --owner=0 --group=0 --numeric-owner --mode=0755 -C ${join(dir, 'rootfs')} -cf ${join(dir, 'layer.tar')} pause`;
    const layerDigest = sha256(readFileSync(join(dir, 'layer.tar')));
    const config = JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Entrypoint: ['/pause'], User: '65535:65535' },
      rootfs: { type: 'layers', diff_ids: [`sha256:${layerDigest}`] },
    });
    writeFileSync(join(dir, `${sha256(config)}.json`), config);
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify([{ Config: `${sha256(config)}.json`, RepoTags: [pauseImage], Layers: ['layer.tar'] }]),
    );
    await $`tar -C ${dir} -cf ${join(dir, 'pause.tar')} manifest.json ${`${sha256(config)}.json`} layer.tar`;
    await ctrImport(node, join(dir, 'pause.tar'));
    console.log(`[cluster] image ${pauseImage}: imported into ${node.name}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every `localhost/ringforge/...` image podman holds, with its id. */
function projectImages(): Map<string, string> {
  const listed = podman([
    'images',
    '--filter',
    'reference=localhost/ringforge/*',
    '--format',
    '{{.Repository}}:{{.Tag}} {{.Id}}',
  ]);
  return new Map(
    listed
      .split('\n')
      .map((line) => line.split(' '))
      .filter((pair): pair is [string, string] => pair.length === 2 && !pair[0]!.endsWith(':<none>')),
  );
}

/**
 * Builds the local images (images/build.sh and the hub image; both reuse what is current, so a warm
 * run takes seconds) and imports into every node each one it does not hold at the same id (saved from
 * podman once for all of them). Returns the hub image's name.
 */
export async function importProjectImages(into: readonly NodeLayout[] = nodes): Promise<string> {
  if (!existsSync(podmanConf)) await $`bash ${join(repoRoot, 'scripts', 'containers', 'podman-setup.sh')} config`;
  console.log('[cluster] local images (images/build.sh)');
  await $({
    stdio: 'inherit',
    env: { ...process.env, CONTAINERS_CONF: podmanConf },
  })`bash ${join(repoRoot, 'images', 'build.sh')}`;
  console.log('[cluster] hub image (scripts/containers/hub-image.ts)');
  const hub = (await buildHubImage()).ref;
  const present = new Map(await Promise.all(into.map(async (node) => [node, await nodeImages(node)] as const)));
  const dir = mkdtempSync(join(tmpdir(), 'rf-node-images-'));
  try {
    for (const [ref, id] of projectImages()) {
      const lacking = into.filter((node) => present.get(node)!.get(ref) !== `sha256:${id}`);
      if (lacking.length === 0) {
        console.log(`[cluster] image ${ref}: present`);
        continue;
      }
      const started = Date.now();
      const archive = join(dir, 'image.tar');
      podman(['save', '--format', 'docker-archive', '--output', archive, ref], 300);
      await Promise.all(lacking.map((node) => ctrImport(node, archive)));
      rmSync(archive);
      const where = lacking.map((node) => node.name).join(', ');
      console.log(`[cluster] image ${ref}: imported into ${where} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // One hub image at a time, as in podman: earlier builds' tags would pile up run after run.
  for (const [node, images] of present) {
    for (const ref of images.keys()) {
      if (ref.startsWith('localhost/ringforge/hub:') && ref !== hub) await crictl(node, ['rmi', ref]).nothrow();
    }
  }
  return hub;
}
