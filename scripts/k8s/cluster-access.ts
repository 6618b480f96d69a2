/*
 * The test cluster `npm run cluster -- up` started: its kubectl and kubeconfig, and the local images
 * in its node that stand in for the public ones dist/ names.
 */
import { existsSync } from 'node:fs';
import { RELEASE_ENVIRONMENTS, releasedImage } from '../../environments/images.ts';
import { importProjectImages } from '../cluster/images.ts';
import { adminKubeconfig, binaries } from '../cluster/layout.ts';
import { localImages } from '../containers/podman.ts';
import type { LocalImages } from './test-overlay.ts';

export interface ClusterAccess {
  readonly kubectl: string;
  readonly kubeconfig: string;
}

export function clusterAccess(): ClusterAccess {
  if (!existsSync(adminKubeconfig))
    throw new Error(`${adminKubeconfig} is missing: run \`npm run cluster -- up\` first`);
  return { kubectl: binaries.kubectl, kubeconfig: adminKubeconfig };
}

/** Imports the current hub image (and any local image the node lacks) and maps public repositories to them. */
export async function localImagesInCluster(): Promise<LocalImages> {
  const hub = await importProjectImages();
  return {
    byRepository: {
      ...hubRepositories(hub),
      'docker.io/valkey/valkey': localImages.valkey,
      'docker.io/oliver006/redis_exporter': localImages.redisExporter,
      // The Valkey snapshot job's upload step needs sh and curl, which the local Valkey image carries.
      'docker.io/curlimages/curl': localImages.valkey,
    },
    postgres: localImages.postgres,
  };
}

/** Every repository a deployed environment takes its hub from (environments/images.json), mapped to `local`. */
export function hubRepositories(local: string): Record<string, string> {
  return Object.fromEntries(RELEASE_ENVIRONMENTS.map((env) => [releasedImage(env).repository, local]));
}
