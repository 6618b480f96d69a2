/*
 * Runs a real `tofu init -backend=false` and `tofu validate` on every synthesized stack, with the
 * real hcloud and Cloudflare providers from the local mirror. Missing tools fail the run: a
 * validation that cannot run is reported as a failure, never skipped.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeReport } from './lib/report.ts';
import { table } from './lib/table.ts';
import { repoRoot, tofuEnv, tool } from './lib/tools.ts';

const run = promisify(execFile);

export interface Diagnostic {
  readonly severity: 'error' | 'warning';
  readonly summary: string;
  readonly detail?: string;
  readonly address?: string;
}

export interface StackValidation {
  readonly stack: string;
  readonly valid: boolean;
  readonly diagnostics: readonly Diagnostic[];
  readonly seconds: number;
}

/** Validates one cdk.tf.json in a scratch directory, so dist/ never gains .terraform folders. */
export async function validateStackFile(stack: string, file: string): Promise<StackValidation> {
  const tofu = tool('tofu');
  const env = tofuEnv();
  mkdirSync(env.TF_PLUGIN_CACHE_DIR!, { recursive: true });
  const started = performance.now();
  const work = mkdtempSync(join(tmpdir(), `ringforge-validate-${stack}-`));
  try {
    copyFileSync(file, join(work, 'cdk.tf.json'));
    try {
      await run(tofu, ['init', '-backend=false', '-input=false', '-no-color'], { cwd: work, env, maxBuffer: 1 << 26 });
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string };
      const detail = `${e.stderr ?? ''}${e.stdout ?? ''}`.trim();
      return {
        stack,
        valid: false,
        diagnostics: [{ severity: 'error', summary: 'tofu init failed', detail }],
        seconds: 0,
      };
    }
    // tofu validate exits 1 on errors but still prints its JSON verdict on stdout.
    const out = await run(tofu, ['validate', '-json', '-no-color'], { cwd: work, env, maxBuffer: 1 << 26 }).catch(
      (err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }),
    );
    const verdict = JSON.parse(out.stdout) as {
      valid: boolean;
      diagnostics: { severity: Diagnostic['severity']; summary: string; detail?: string; address?: string }[];
    };
    return {
      stack,
      valid: verdict.valid,
      diagnostics: verdict.diagnostics.map(({ severity, summary, detail, address }) => ({
        severity,
        summary,
        detail,
        address,
      })),
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function synthesizedStacks(distDir = join(repoRoot, 'dist', 'terraform')): string[] {
  if (!existsSync(distDir)) throw new Error(`${distDir} does not exist: run \`npm run synth\` first`);
  return readdirSync(distDir)
    .filter((s) => existsSync(join(distDir, s, 'cdk.tf.json')))
    .sort();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const distDir = join(repoRoot, 'dist', 'terraform');
  const stacks = synthesizedStacks(distDir);
  if (stacks.length === 0) throw new Error('no synthesized stacks in dist/terraform: run `npm run synth` first');
  const results: StackValidation[] = [];
  for (const stack of stacks) {
    process.stdout.write(`validating ${stack} ... `);
    const result = await validateStackFile(stack, join(distDir, stack, 'cdk.tf.json'));
    console.log(result.valid ? `ok (${result.seconds.toFixed(1)} s)` : 'INVALID');
    results.push(result);
  }
  const rows = results.map((r) => [r.stack, r.valid ? 'valid' : 'INVALID', r.diagnostics.length, r.seconds.toFixed(1)]);
  const summary = table(['stack', 'result', 'diagnostics', 'seconds'], rows);
  const problems = results.flatMap((r) =>
    r.diagnostics.map(
      (d) =>
        `${r.stack}: ${d.severity}: ${d.summary}${d.address ? ` (${d.address})` : ''}${d.detail ? `\n    ${d.detail}` : ''}`,
    ),
  );
  console.log(`\n${summary}`);
  if (problems.length) console.log(`\n${problems.join('\n')}`);
  const dir = writeReport(
    'validate',
    results,
    `# tofu validate\n\n\`\`\`\n${summary}\n\`\`\`\n\n${problems.map((p) => `- ${p}`).join('\n')}`,
  );
  console.log(`report: ${dir}/report.md`);
  if (results.some((r) => !r.valid)) process.exit(1);
}
