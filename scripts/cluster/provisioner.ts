/*
 * The `hcloud-volumes` storage class of the local cluster: a provisioner that gives each claim its own
 * directory under the state directory as a `local` PersistentVolume, and deletes directory and volume once the claim is gone. Why not the alternatives: the kube-controller-manager's
 * built-in hostPath provisioner makes root-owned 0750 directories under /tmp that non-root pods
 * (Valkey, CloudNativePG under Pod Security `restricted`) cannot write, since hostPath volumes ignore
 * fsGroup; a fixed pool of static volumes runs dry as verify runs create and delete namespaces and
 * hands a 1Gi claim whatever size is left. `local` volumes honour fsGroup, and claims bind at their
 * own size. Binding waits for the first consumer, as Hetzner's class does. The volume may be used on
 * either node (both are this host, so its directory is there for both), as a Hetzner volume attaches to
 * any server of its location: a pod whose node is drained moves to the other with its data.
 * Runs as a daemon of `npm run cluster -- up` (see cluster.ts), polling every two seconds.
 */
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { api, apiGet } from './api.ts';
import { nodes, storageClassName, volumesDir } from './layout.ts';

export const provisionerName = 'ringforge.local/host-directory';

interface Claim {
  metadata: { name: string; namespace: string; uid: string; annotations?: Record<string, string> };
  spec: {
    storageClassName?: string;
    volumeName?: string;
    accessModes: string[];
    volumeMode?: string;
    resources: { requests: { storage: string } };
  };
  status: { phase: string };
}

interface Volume {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { local?: { path: string }; persistentVolumeReclaimPolicy: string };
  status: { phase: string };
}

const log = (message: string) => console.log(`${new Date().toISOString()} ${message}`);

async function provision(claim: Claim): Promise<void> {
  const name = `pvc-${claim.metadata.uid}`;
  const path = join(volumesDir, name);
  mkdirSync(path, { recursive: true });
  // Any user may write until the kubelet applies the pod's fsGroup, as a fresh block volume allows.
  chmodSync(path, 0o777);
  const reply = await api('/api/v1/persistentvolumes', 'POST', {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': provisionerName } },
    spec: {
      capacity: { storage: claim.spec.resources.requests.storage },
      accessModes: claim.spec.accessModes,
      volumeMode: claim.spec.volumeMode ?? 'Filesystem',
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName,
      claimRef: { namespace: claim.metadata.namespace, name: claim.metadata.name, uid: claim.metadata.uid },
      local: { path },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: nodes.map((n) => n.name) }] },
          ],
        },
      },
    },
  });
  if (reply.status === 201) {
    log(`provisioned ${name} for ${claim.metadata.namespace}/${claim.metadata.name}`);
  } else if (reply.status !== 409) {
    log(`could not create ${name}: ${reply.status} ${reply.body.slice(0, 300)}`);
  }
}

async function reclaim(volume: Volume): Promise<void> {
  if (volume.spec.local) rmSync(volume.spec.local.path, { recursive: true, force: true });
  const reply = await api(`/api/v1/persistentvolumes/${volume.metadata.name}`, 'DELETE');
  log(`deleted ${volume.metadata.name} (${reply.status})`);
}

async function pass(): Promise<void> {
  const claims = await apiGet<{ items: Claim[] }>('/api/v1/persistentvolumeclaims');
  for (const claim of claims.items) {
    const node = claim.metadata.annotations?.['volume.kubernetes.io/selected-node'];
    const waiting =
      claim.spec.storageClassName === storageClassName &&
      claim.status.phase === 'Pending' &&
      !claim.spec.volumeName &&
      nodes.some((n) => n.name === node);
    if (waiting) await provision(claim);
  }
  const volumes = await apiGet<{ items: Volume[] }>('/api/v1/persistentvolumes');
  for (const volume of volumes.items) {
    const ours = volume.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] === provisionerName;
    if (ours && volume.status.phase === 'Released' && volume.spec.persistentVolumeReclaimPolicy === 'Delete') {
      await reclaim(volume);
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  log(`provisioner ${provisionerName} for storage class ${storageClassName}, volumes in ${volumesDir}`);
  for (;;) {
    await pass().catch((error: Error) => log(`pass failed: ${error.message}`));
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}
