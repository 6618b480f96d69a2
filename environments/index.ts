import dev from './dev.ts';
import { resolveEnvironment, type EnvironmentFile } from './load.ts';
import local from './local.ts';
import prod from './prod.ts';
import type { Environment, HetznerEnvironment } from './schema.ts';
import staging from './staging.ts';

export { EnvironmentError, resolveEnvironment, type EnvironmentFile } from './load.ts';
export * from './regions.ts';
export * from './schema.ts';

/** Every environment file, by name. Add a file here to add an environment. */
const FILES: Record<string, EnvironmentFile> = { local, dev, staging, prod };

export const environmentNames = Object.keys(FILES);

export function loadEnvironment(name: string): Environment {
  const file = FILES[name];
  if (!file) throw new Error(`unknown environment "${name}" (known: ${environmentNames.join(', ')})`);
  const env = resolveEnvironment(`environments/${name}.ts`, file);
  if (env.name !== name) {
    throw new Error(`environments/${name}.ts: name must match the file name (got "${env.name}")`);
  }
  return env;
}

export const loadAllEnvironments = (): Environment[] => environmentNames.map(loadEnvironment);

/** The environments that deploy to Hetzner Cloud: the ones stacks and charts are synthesized for. */
export const loadHetznerEnvironments = (): HetznerEnvironment[] =>
  loadAllEnvironments().filter((e): e is HetznerEnvironment => e.platform === 'hetzner');
