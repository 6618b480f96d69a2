/*
 * `npm run k8s:drill-failover`: the k8s failover drill (`npm run drill -- failover --target k8s`)
 * against what `k8s:verify -- staging` left on the test cluster. It hands the drill what an operator
 * would: the cluster's kubeconfig and kubectl, the hub Service's address for the agents and for the
 * admin API, and the admin token from the hub-admin Secret (in the environment, never printed).
 */
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { NAMESPACES } from '../../charts/clusters.ts';
import { clusterAccess } from './cluster-access.ts';
import { Kubectl } from './kubectl.ts';
import { hubService } from './proofs.ts';

const access = clusterAccess();
const kubectl = new Kubectl(access.kubectl, access.kubeconfig);
const service = await hubService(kubectl);
const secret = await kubectl.json<{ data: { token: string } }>(['-n', NAMESPACES.hub, 'get', 'secret', 'hub-admin']);
const drill = spawnSync(
  'npm',
  [
    'run',
    '-s',
    'drill',
    '--',
    'failover',
    '--target',
    'k8s',
    '--env',
    'staging',
    '--target-url',
    `ws://${service.publicAddress}/ws`,
    '--admin-url',
    `http://${service.adminAddress}`,
    ...process.argv.slice(2),
  ],
  {
    stdio: 'inherit',
    env: {
      ...process.env,
      KUBECONFIG: access.kubeconfig,
      // The drill calls `kubectl`: the cluster's own, first on PATH.
      PATH: `${dirname(access.kubectl)}:${process.env.PATH ?? ''}`,
      HUB_ADMIN_TOKEN: Buffer.from(secret.data.token, 'base64').toString('utf8'),
    },
  },
);
process.exit(drill.status ?? 1);
