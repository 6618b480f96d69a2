import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where scripts/toolchain.sh installs tools; the same rule as in that script. */
export const toolsDir = process.env.RINGFORGE_TOOLS_DIR ?? join(homedir(), '.cache', 'ringforge-deploy', 'tools');

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The pinned versions from scripts/toolchain.env. */
export const toolVersions: Record<string, string> = Object.fromEntries(
  readFileSync(join(repoRoot, 'scripts', 'toolchain.env'), 'utf8')
    .split('\n')
    .map((line) => /^([A-Z_]+)=(.*)$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(([, key, value]) => [key, value!.replace(/^"|"$/g, '')]),
);

/** Absolute path of an installed tool, or an error telling the operator how to install it. */
export function tool(name: 'tofu' | 'versitygw' | 'promtool' | 'amtool' | 'alertmanager' | 'centrifugo'): string {
  const path = join(toolsDir, 'bin', name);
  if (!existsSync(path)) {
    throw new Error(`${name} is not installed in ${toolsDir}/bin: run \`npm run toolchain\` first`);
  }
  return path;
}

/** Environment for tofu: providers only from the local mirror, no telemetry, no prompts. */
export function tofuEnv(): NodeJS.ProcessEnv {
  const cliConfig = join(toolsDir, 'tofurc');
  if (!existsSync(cliConfig)) throw new Error(`${cliConfig} is missing: run \`npm run toolchain\` first`);
  return {
    ...process.env,
    TF_CLI_CONFIG_FILE: cliConfig,
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
    CHECKPOINT_DISABLE: '1',
    TF_PLUGIN_CACHE_DIR: join(toolsDir, 'plugin-cache'),
  };
}
