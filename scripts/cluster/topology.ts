/*
 * The topology labels the hcloud cloud-controller-manager puts on real nodes, which this cluster's
 * nodes get from `up` instead: `topology.kubernetes.io/region` is the server's location (fsn1, nbg1,
 * ...), `topology.kubernetes.io/zone` its datacenter (fsn1-dc14, ...). The failover drill checks that
 * every node of the context's cluster is in the environment's region (runbooks/failover/k8s.ts).
 */
import { loadEnvironment } from '../../environments/index.ts';
import { HETZNER_LOCATIONS, type HetznerLocation } from '../../environments/schema.ts';

export const regionLabel = 'topology.kubernetes.io/region';
export const zoneLabel = 'topology.kubernetes.io/zone';

/** Each location's datacenter, as Hetzner names it (one per location). */
const datacenters: Record<HetznerLocation, string> = {
  fsn1: 'fsn1-dc14',
  nbg1: 'nbg1-dc3',
  hel1: 'hel1-dc2',
  ash: 'ash-dc1',
  hil: 'hil-dc1',
  sin: 'sin-dc1',
};

const isLocation = (value: string): value is HetznerLocation => Object.hasOwn(HETZNER_LOCATIONS, value);

/** The labels every node gets for a region (a Hetzner location); throws on an unknown one. */
export function topologyLabels(region: string): Record<string, string> {
  if (!isLocation(region)) {
    throw new Error(`unknown region "${region}" (Hetzner locations: ${Object.keys(HETZNER_LOCATIONS).join(', ')})`);
  }
  return { [regionLabel]: region, [zoneLabel]: datacenters[region] };
}

/** The region `up` labels the nodes with: `--region <location>` or `--region=<location>`, else `fallback()`. */
export function regionArgument(args: readonly string[], fallback: () => string): string {
  for (const [i, arg] of args.entries()) {
    if (arg === '--region') {
      const value = args[i + 1];
      if (value === undefined || value.startsWith('--'))
        throw new Error('--region needs a location, e.g. --region fsn1');
      return value;
    }
    if (arg.startsWith('--region=')) return arg.slice('--region='.length);
  }
  return fallback();
}

/** The staging environment's first region's location: where the drill's default target runs. */
export function defaultRegion(): string {
  const staging = loadEnvironment('staging');
  if (staging.platform !== 'hetzner') throw new Error('environments/staging.ts is not a Hetzner environment');
  return staging.regions[0]!.location;
}
