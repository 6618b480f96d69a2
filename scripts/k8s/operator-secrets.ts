/*
 * The Secrets runbooks/secrets.md has the operator create, with fresh random values: the test
 * cluster gets them the way a real one does, by name, and no value is printed or written to disk.
 */
import { randomBytes } from 'node:crypto';
import { NAMESPACES } from '../../charts/clusters.ts';
import type { Kubectl } from './kubectl.ts';
import type { KubeObject } from './sync-plan.ts';

const secret = (namespace: string, name: string, stringData: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace },
  type: 'Opaque',
  stringData,
});

const password = () => randomBytes(24).toString('base64url');

export interface OperatorSecrets {
  readonly objects: readonly KubeObject[];
  /** The admin token the hubs are given: verify provisions its agents with it. */
  readonly adminToken: string;
}

/** Every Secret of the runbook that exists before the first sync (pg-app comes from the database). */
export function operatorSecrets(): OperatorSecrets {
  const adminToken = password();
  const valkey = password();
  return {
    adminToken,
    objects: [
      secret(NAMESPACES.hub, 'hub-admin', { token: adminToken }),
      // The hub mounts it as a file and finds the primary through the sentinels.
      secret(NAMESPACES.hub, 'hub-redis', { password: valkey }),
      secret(NAMESPACES.data, 'valkey-auth', { password: valkey }),
      secret(NAMESPACES.data, 'pg-backup-s3', { ACCESS_KEY_ID: password(), ACCESS_SECRET_KEY: password() }),
    ],
  };
}

/** The runbook's copy of the database's `pg-app` into the hub's namespace as `hub-database`. */
export async function copyDatabaseSecret(kubectl: Kubectl): Promise<void> {
  const source = await kubectl.json<{ data: { uri: string } }>(['-n', NAMESPACES.data, 'get', 'secret', 'pg-app']);
  const uri = Buffer.from(source.data.uri, 'base64').toString('utf8');
  await kubectl.apply([secret(NAMESPACES.hub, 'hub-database', { uri })], { fieldManager: 'operator' });
}
