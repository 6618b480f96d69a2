import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { HetznerEnvironment } from '../environments/index.ts';
import { scanForSecrets } from '../scripts/lib/secret-scan.ts';
import { checkRenderedPolicy, filesOf, renderK8s } from './render.ts';

export interface ChartSummary {
  readonly env: string;
  /** Folder relative to dist/, e.g. `k8s/prod/fsn1/hub`. */
  readonly app: string;
  readonly objects: number;
  readonly files: number;
}

/**
 * Renders every chart of every Kubernetes-tier environment, refuses output that breaks the policy
 * checklist or carries a secret, then replaces `<distDir>/k8s` wholesale (removed apps disappear).
 */
export function synthK8s(envs: readonly HetznerEnvironment[], distDir: string): ChartSummary[] {
  const rendered = renderK8s(envs);
  const files = rendered.map((r) => ({ r, files: filesOf(r) }));
  const problems = [
    ...checkRenderedPolicy(rendered),
    ...files.flatMap(({ files: f }) =>
      Object.entries(f).flatMap(([path, text]) =>
        scanForSecrets(text).map((s) => `${path}: secret (${s.kind}) at line ${s.line}: ${s.excerpt}`),
      ),
    ),
  ];
  if (problems.length) {
    throw new Error(`synthesized Kubernetes manifests violate policy:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
  rmSync(join(distDir, 'k8s'), { recursive: true, force: true });
  return files.map(({ r, files: f }) => {
    for (const [path, text] of Object.entries(f)) {
      const target = join(distDir, relative('dist', path));
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, text);
    }
    return { env: r.env, app: relative('dist', r.dir), objects: r.objects.length, files: Object.keys(f).length };
  });
}
