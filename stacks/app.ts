import { App, type TerraformStack } from 'cdktf';
import type { HetznerEnvironment, Tier } from '../environments/index.ts';
import { EdgeStack } from './edge.ts';
import { stackName } from './naming.ts';
import { SingleNodeInfraStack } from './single-node-infra.ts';

type StackBuilder = (app: App, env: HetznerEnvironment) => TerraformStack[];

/** Which stacks each tier is made of. */
const STACKS_BY_TIER: Partial<Record<Tier, StackBuilder>> = {
  0: (app, env) => {
    const infra = new SingleNodeInfraStack(app, stackName(env, 'infra'), env);
    const server = infra.origin.servers[0]!;
    const edge = new EdgeStack(app, stackName(env, 'edge'), env, {
      ipv4: server.ipv4Address,
      ipv6: server.ipv6Address,
    });
    return [infra, edge];
  },
};

export interface SynthesizedApp {
  readonly app: App;
  readonly stacks: readonly { env: string; stack: TerraformStack }[];
  /** Environments whose tier has no stacks yet. */
  readonly pending: readonly string[];
}

/** Composes the stacks of every given environment into one cdktf app. */
export function buildApp(envs: readonly HetznerEnvironment[], outdir?: string): SynthesizedApp {
  const app = new App({ outdir, skipValidation: false });
  const stacks: { env: string; stack: TerraformStack }[] = [];
  const pending: string[] = [];
  for (const env of envs) {
    const build = STACKS_BY_TIER[env.tier];
    if (!build) pending.push(`${env.name} (tier ${env.tier})`);
    else for (const stack of build(app, env)) stacks.push({ env: env.name, stack });
  }
  return { app, stacks, pending };
}
