/*
 * `npm run cost [env...]`: what the synthesized stacks of each environment cost per month at
 * Hetzner list prices, per role. Reads dist/terraform (run `npm run synth` first).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HETZNER_PRICES } from '../constructs/hetzner/prices.ts';
import { environmentNames, loadHetznerEnvironments } from '../environments/index.ts';
import { priceStacks, totalMonthly, type CostLine } from './lib/cost.ts';
import { writeReport } from './lib/report.ts';
import { table } from './lib/table.ts';
import type { TerraformJson } from './lib/terraform-json.ts';
import { repoRoot } from './lib/tools.ts';
import { synthesizedStacks } from './validate.ts';

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!environmentNames.includes(name))
    throw new Error(`unknown environment "${name}" (known: ${environmentNames.join(', ')})`);
}
const envs = loadHetznerEnvironments().filter((e) => wanted.length === 0 || wanted.includes(e.name));
const distDir = join(repoRoot, 'dist', 'terraform');
const stacks = synthesizedStacks(distDir);

const money = (n: number) => n.toFixed(2);
const report: Record<string, { monthly: number; byRole: Record<string, number>; lines: CostLine[] }> = {};
const sections: string[] = [];
for (const env of envs) {
  const own = stacks.filter((s) => s.startsWith(`${env.name}-`));
  if (own.length === 0)
    throw new Error(`no synthesized stacks for ${env.name} in dist/terraform: run \`npm run synth\``);
  const lines = priceStacks(
    Object.fromEntries(
      own.map((s) => [s, JSON.parse(readFileSync(join(distDir, s, 'cdk.tf.json'), 'utf8')) as TerraformJson]),
    ),
  );
  const byRole: Record<string, number> = {};
  for (const l of lines) byRole[l.role] = Math.round(((byRole[l.role] ?? 0) + l.monthly) * 100) / 100;
  report[env.name] = { monthly: totalMonthly(lines), byRole, lines };
  const rows = lines.map((l) => [l.stack, l.role, l.item, l.quantity, money(l.unitMonthly), money(l.monthly)]);
  sections.push(
    `${env.name} (tier ${env.tier}): ${money(totalMonthly(lines))} ${HETZNER_PRICES.currency}/month\n` +
      table(['stack', 'role', 'item', 'qty', 'unit', 'monthly'], rows),
  );
}
const text = `${sections.join('\n\n')}\n\nHetzner list prices as of ${HETZNER_PRICES.asOf}, excluding VAT, Cloudflare and traffic.`;
console.log(text);
const dir = writeReport(
  'cost',
  { prices: HETZNER_PRICES, environments: report },
  `# Monthly cost\n\n\`\`\`\n${text}\n\`\`\``,
);
console.log(`report: ${dir}/report.md`);
