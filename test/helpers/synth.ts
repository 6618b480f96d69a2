import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnvironment, type HetznerEnvironment } from '../../environments/index.ts';
import type { TerraformJson } from '../../scripts/lib/terraform-json.ts';
import { buildApp } from '../../stacks/app.ts';

export function hetznerEnvironment(name: string): HetznerEnvironment {
  const env = loadEnvironment(name);
  if (env.platform !== 'hetzner') throw new Error(`${name} is not a Hetzner environment`);
  return env;
}

/**
 * Synthesizes the stacks of one environment as a whole app (so cross-stack references resolve
 * exactly as `cdktf deploy` sees them) and returns each stack's Terraform JSON by stack name.
 */
export function synthEnvironment(env: HetznerEnvironment): Record<string, TerraformJson> {
  const outdir = mkdtempSync(join(tmpdir(), 'ringforge-test-synth-'));
  try {
    const { app, stacks } = buildApp([env], outdir);
    app.synth();
    return Object.fromEntries(
      stacks.map(({ stack }) => [
        stack.node.id,
        JSON.parse(readFileSync(join(outdir, 'stacks', stack.node.id, 'cdk.tf.json'), 'utf8')) as TerraformJson,
      ]),
    );
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
