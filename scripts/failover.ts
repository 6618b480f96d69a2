/*
 * `npm run failover -- <env> --to <region>`: makes <region> the primary of a tier 3 environment.
 * It rewrites the `primaryRegion` line of environments/<env>.ts, synthesizes dist/ from it (the file
 * is restored if the synth fails), and prints what to commit, deploy and check, which it also writes
 * to reports/failover/. Planned switchover and unplanned failover are the same edit; the runbook
 * (runbooks/region-loss.md) says what differs around it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadEnvironment } from '../environments/index.ts';
import { failoverPlan, failoverRequest, rewritePrimaryRegion } from './lib/failover.ts';
import { repoRoot } from './lib/tools.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { to: { type: 'string' } } });
if (positionals.length !== 1 || !values.to) {
  console.error('usage: npm run failover -- <env> --to <region>   e.g. npm run failover -- prod --to hel1');
  process.exit(2);
}
const [name] = positionals as [string];
try {
  const request = failoverRequest(loadEnvironment(name), values.to);
  const file = `environments/${name}.ts`;
  const path = join(repoRoot, file);
  const original = readFileSync(path, 'utf8');
  writeFileSync(path, rewritePrimaryRegion(original, file, request.from, request.to));
  console.log(`${file}: primaryRegion ${request.from} → ${request.to}; synthesizing`);
  const synth = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts', 'synth.ts')], {
    cwd: repoRoot,
    stdio: 'inherit',
  });
  if (synth.status !== 0) {
    writeFileSync(path, original);
    throw new Error(`npm run synth failed (exit ${synth.status}); ${file} is restored, dist/ may be partial`);
  }
  const when = new Date();
  const plan = failoverPlan(request, file, when);
  const reportDir = join(repoRoot, 'reports', 'failover');
  mkdirSync(reportDir, { recursive: true });
  const report = join(reportDir, `${when.toISOString().replace(/[:.]/g, '-')}-${name}-${request.to}.md`);
  writeFileSync(report, plan);
  console.log(`\n${plan}\nwritten to ${report}`);
} catch (err) {
  console.error(`failover: ${(err as Error).message}`);
  process.exit(1);
}
