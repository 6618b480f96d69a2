import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadEnvironment, resolveEnvironment, type HetznerEnvironment } from '../../environments/index.ts';
import dev from '../../environments/dev.ts';
import { blocks, type TerraformJson } from '../../scripts/lib/terraform-json.ts';
import { buildApp } from '../../stacks/app.ts';

export function hetznerEnvironment(name: string): HetznerEnvironment {
  const env = loadEnvironment(name);
  if (env.platform !== 'hetzner') throw new Error(`${name} is not a Hetzner environment`);
  return env;
}

/** A tier 1 environment for tests: no shipped environment uses tier 1, but the kit supports it. */
export function tier1Environment(): HetznerEnvironment {
  const env = resolveEnvironment('test/tier1', {
    ...dev,
    name: 'ha',
    tier: 1,
    dns: { ...dev.dns, hubHostname: 'hub.ha.ringforge.example' },
  });
  if (env.platform !== 'hetzner') throw new Error('tier 1 test environment must be on hetzner');
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

/** Resource bodies of one type. */
export const bodies = (doc: TerraformJson, type: string): Record<string, any>[] =>
  blocks(doc)
    .filter((b) => b.type === type)
    .map((b) => b.body as Record<string, any>);

/** Servers whose role label is `role`. */
export const serversOf = (doc: TerraformJson, role: string) =>
  bodies(doc, 'hcloud_server').filter((s) => s.labels['ringforge/role'] === role);

/** A server's cloud-init, parsed. */
export function cloudConfigOf(server: Record<string, any>): Record<string, any> {
  const text = server.user_data as string;
  if (!text.startsWith('#cloud-config\n')) throw new Error('user data is not cloud-config');
  return parse(text) as Record<string, any>;
}

/** The content of a file cloud-init writes. */
export function writtenFile(config: Record<string, any>, path: string): string {
  const file = (config.write_files as { path: string; content: string }[]).find((f) => f.path === path);
  if (!file)
    throw new Error(`cloud-init writes no ${path} (writes ${config.write_files.map((f: any) => f.path).join(', ')})`);
  return file.content;
}
