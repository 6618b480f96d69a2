/*
 * `npm run plan-guard -- <plan.json> [--allow <address>]...`
 * Fails, naming each resource, when a plan would destroy or replace a server, volume, load
 * balancer or primary IP that the operator has not allowed explicitly with --allow.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { findDestructions, GUARDED_TYPES, unallowed } from './lib/plan-guard.ts';
import { table } from './lib/table.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { allow: { type: 'string', multiple: true, default: [] } },
});
if (positionals.length !== 1) {
  console.error(
    'usage: npm run plan-guard -- <plan.json> [--allow <resource address>]...\n  plan.json: tofu show -json plan.out > plan.json',
  );
  process.exit(2);
}
const found = findDestructions(JSON.parse(readFileSync(positionals[0]!, 'utf8')));
const blocked = unallowed(found, values.allow);
if (found.length === 0) {
  console.log(`plan destroys no ${GUARDED_TYPES.join(', ')}`);
  process.exit(0);
}
console.log(
  table(
    ['resource', 'change', 'reason', 'allowed'],
    found.map((d) => [d.address, d.kind, d.reason ?? '', blocked.includes(d) ? 'NO' : 'yes']),
  ),
);
if (blocked.length) {
  console.error(
    `\nplan would ${blocked.map((d) => `${d.kind} ${d.address}`).join(', ')}; re-run with --allow <address> for each if that is intended`,
  );
  process.exit(1);
}
console.log('\nevery destructive change is explicitly allowed');
