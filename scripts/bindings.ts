/*
 * Regenerates the committed hcloud bindings in .gen/ with `cdktf get`, reading the provider schema
 * from the locally built provider through tofu (no registry access needed).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, tofuEnv, tool, toolsDir } from './lib/tools.ts';

tool('tofu');
execFileSync('npx', ['cdktf', 'get', '--force'], {
  cwd: repoRoot,
  stdio: 'inherit',
  env: { ...tofuEnv(), TERRAFORM_BINARY_NAME: 'tofu', PATH: `${join(toolsDir, 'bin')}:${process.env.PATH}` },
});
