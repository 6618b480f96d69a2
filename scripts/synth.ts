/*
 * Synthesizes every stack of every environment into dist/terraform/<stack>/cdk.tf.json (and, as
 * charts arrive, every chart into dist/k8s/<env>/), then prints what it wrote. dist/ is committed:
 * reviewers read the diff, ArgoCD syncs dist/k8s, and `npm run drift` proves it is current.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadHetznerEnvironments } from '../environments/index.ts';
import { renderCompose, renderMonitoringFiles, renderNginxConf } from '../constructs/hetzner/roles/single-node.ts';
import { buildApp } from '../stacks/app.ts';
import { singleNodeProps } from '../stacks/infra/single-node.ts';
import { table } from './lib/table.ts';
import { checkTerraformPolicy } from '../stacks/policy/terraform-policy.ts';
import { scanForSecrets } from './lib/secret-scan.ts';
import { blocks, type TerraformJson } from './lib/terraform-json.ts';
import { repoRoot } from './lib/tools.ts';
import { synthK8s, type ChartSummary } from '../charts/synth-k8s.ts';

export interface SynthSummary {
  readonly stacks: { stack: string; env: string; resources: number; dataSources: number; bytes: number }[];
  readonly charts: ChartSummary[];
}

/**
 * The tier 0 compose stack, its proxy and monitoring configs, exactly as cloud-init installs them, so they can
 * be reviewed and run locally (see the container tests).
 */
function writeComposeFiles(composeDir: string): void {
  rmSync(composeDir, { recursive: true, force: true });
  for (const env of loadHetznerEnvironments().filter((e) => e.tier === 0)) {
    const props = singleNodeProps(env);
    mkdirSync(join(composeDir, env.name), { recursive: true });
    writeFileSync(join(composeDir, env.name, 'compose.yaml'), renderCompose(props));
    writeFileSync(join(composeDir, env.name, 'nginx.conf'), renderNginxConf(props));
    mkdirSync(join(composeDir, env.name, 'monitoring'));
    for (const [file, content] of Object.entries(renderMonitoringFiles(props))) {
      writeFileSync(join(composeDir, env.name, 'monitoring', file), content);
    }
  }
}

/** Synthesizes into `distDir` (default: the repository's dist/), replacing what was there. */
export function synthAll(distDir = join(repoRoot, 'dist')): SynthSummary {
  const outdir = mkdtempSync(join(tmpdir(), 'ringforge-synth-'));
  try {
    const { app, stacks } = buildApp(loadHetznerEnvironments(), outdir);
    app.synth();
    const texts = Object.fromEntries(
      stacks.map(({ stack }) => [
        stack.node.id,
        readFileSync(join(outdir, 'stacks', stack.node.id, 'cdk.tf.json'), 'utf8'),
      ]),
    );
    const docs = Object.fromEntries(
      Object.entries(texts).map(([name, text]) => [name, JSON.parse(text) as TerraformJson]),
    );
    // Nothing that breaks policy or carries a secret is written to dist/.
    const problems = [
      ...checkTerraformPolicy(docs).map((v) => `${v.stack}: ${v.rule} ${v.address}: ${v.message}`),
      ...Object.entries(texts).flatMap(([name, text]) =>
        scanForSecrets(text).map((f) => `${name}: secret (${f.kind}) at line ${f.line}: ${f.excerpt}`),
      ),
    ];
    if (problems.length)
      throw new Error(`synthesized stacks violate policy:\n${problems.map((p) => `  - ${p}`).join('\n')}`);

    const terraformDir = join(distDir, 'terraform');
    rmSync(terraformDir, { recursive: true, force: true });
    const rows = stacks.map(({ env, stack }) => {
      const name = stack.node.id;
      const text = texts[name]!;
      const doc = docs[name]!;
      mkdirSync(join(terraformDir, name), { recursive: true });
      writeFileSync(join(terraformDir, name, 'cdk.tf.json'), text.endsWith('\n') ? text : `${text}\n`);
      return {
        stack: name,
        env,
        resources: blocks(doc).length,
        dataSources: blocks(doc, 'data').length,
        bytes: Buffer.byteLength(text),
      };
    });
    writeComposeFiles(join(distDir, 'compose'));
    const charts = synthK8s(
      loadHetznerEnvironments().filter((e) => e.tier >= 2),
      distDir,
    );
    return { stacks: rows, charts };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const started = performance.now();
  const summary = synthAll();
  console.log(
    table(
      ['stack', 'env', 'resources', 'data', 'bytes', 'file'],
      summary.stacks.map((s) => [
        s.stack,
        s.env,
        s.resources,
        s.dataSources,
        s.bytes,
        `dist/terraform/${s.stack}/cdk.tf.json`,
      ]),
    ),
  );
  console.log(
    `\n${table(
      ['env', 'app', 'objects', 'files'],
      summary.charts.map((c) => [c.env, `dist/${c.app}`, c.objects, c.files]),
    )}`,
  );
  console.log(
    `\nsynthesized ${summary.stacks.length} stacks, ${summary.stacks.reduce((n, s) => n + s.resources, 0)} resources, ${summary.charts.length} charts, ${summary.charts.reduce((n, c) => n + c.objects, 0)} Kubernetes objects in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}
