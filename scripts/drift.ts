/*
 * Fails when dist/ differs from what the code synthesizes: someone changed code without committing
 * the regenerated output, or edited dist/ by hand. ArgoCD syncs dist/k8s, so it must be current.
 */
import { execFileSync } from 'node:child_process';
import { repoRoot } from './lib/tools.ts';
import { synthAll } from './synth.ts';

synthAll();
const changed = execFileSync('git', ['status', '--porcelain', '--untracked-files=all', '--', 'dist'], {
  cwd: repoRoot,
  encoding: 'utf8',
}).trim();
if (changed) {
  console.error(`dist/ is not what the code synthesizes (run \`npm run synth\` and commit):\n${changed}`);
  const diff = execFileSync('git', ['diff', '--stat', '--', 'dist'], { cwd: repoRoot, encoding: 'utf8' });
  if (diff) console.error(diff);
  process.exit(1);
}
console.log('dist/ matches the code');
