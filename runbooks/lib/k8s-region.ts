import { primaryRegionOf, type Environment, type HetznerEnvironment } from '../../environments/index.ts';

/**
 * The environment and region whose cluster a k8s-target drill works on: `--region`, or the
 * environment's primary region (`primaryRegion`). Only tiers 2-3 run on Kubernetes.
 */
export function k8sTarget(
  env: Environment,
  region: string | undefined,
  drill: string,
): { env: HetznerEnvironment; region: HetznerEnvironment['regions'][number] } {
  if (env.platform !== 'hetzner' || env.tier < 2) {
    throw new Error(
      `environments/${env.name}.ts: tier is ${env.tier} (platform ${env.platform}); the ${drill} k8s target needs tier 2 or 3, where the hub runs on Kubernetes`,
    );
  }
  const names = env.regions.map((r) => r.name);
  const chosen = env.regions.find((r) => r.name === (region ?? primaryRegionOf(env).name));
  if (chosen === undefined) {
    throw new Error(
      `--region: environments/${env.name}.ts regions are ${names.join(', ')} (got ${region ?? 'nothing'})`,
    );
  }
  return { env, region: chosen };
}
