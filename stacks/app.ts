import { App, type TerraformStack } from 'cdktf';
import type { HetznerEnvironment } from '../environments/index.ts';
import { EdgeStack } from './edge.ts';
import type { Entry } from './infra/context.ts';
import { InfraStack } from './infra/infra-stack.ts';
import { stackName } from './naming.ts';

export interface SynthesizedApp {
  readonly app: App;
  readonly stacks: readonly { env: string; stack: TerraformStack }[];
}

/**
 * Composes every environment's stacks into one cdktf app: an infra stack per region, then the
 * edge stack, which reads the regions' entry addresses from their state.
 */
export function buildApp(envs: readonly HetznerEnvironment[], outdir?: string): SynthesizedApp {
  const app = new App({ outdir, skipValidation: false });
  const stacks: { env: string; stack: TerraformStack }[] = [];
  for (const env of envs) {
    const entries = new Map<string, Entry>();
    for (const region of env.regions) {
      const infra = new InfraStack(app, stackName(env, 'infra', region.name), env, region.name);
      entries.set(region.name, infra.entry);
      stacks.push({ env: env.name, stack: infra });
    }
    stacks.push({ env: env.name, stack: new EdgeStack(app, stackName(env, 'edge'), env, entries) });
  }
  return { app, stacks };
}
