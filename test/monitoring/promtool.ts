import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { isAlert, type RuleGroup } from '../../constructs/monitoring/rules.ts';
import { tool } from '../../scripts/lib/tools.ts';
import type { AlertCases, Situation } from './alert-cases.ts';

export interface ToolRun {
  readonly status: number | null;
  readonly output: string;
}

/** Runs promtool or amtool from the toolchain; a missing tool throws, naming `npm run toolchain`. */
export function runTool(name: 'promtool' | 'amtool', args: readonly string[]): ToolRun {
  const run = spawnSync(tool(name), args, { encoding: 'utf8', timeout: 120_000 });
  if (run.error) throw run.error;
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

export const scratchDir = (label: string) => mkdtempSync(join(tmpdir(), `ringforge-${label}-`));

/** Writes the groups as a Prometheus rule file. */
export function writeRuleFile(dir: string, groups: readonly RuleGroup[]): string {
  const path = join(dir, 'rules.yaml');
  writeFileSync(path, stringify({ groups }, { lineWidth: 0 }));
  return path;
}

/** The names of the alerting rules of some groups, in order. */
export const alertNames = (groups: readonly RuleGroup[]) =>
  groups.flatMap((g) => g.rules.filter(isAlert).map((r) => r.alert));

/** One promtool test group: the situation's series, and the alert expected to fire or not. */
function testGroup(
  groups: readonly RuleGroup[],
  alertname: string,
  situation: Situation,
  firing: boolean,
): Record<string, unknown> {
  const rule = groups.flatMap((g) => g.rules.filter(isAlert)).find((r) => r.alert === alertname)!;
  return {
    name: `${alertname} ${firing ? 'fires' : 'stays silent'}: ${situation.what}`,
    interval: '1m',
    input_series: situation.series.map((s) => ({ series: s.series, values: s.values })),
    alert_rule_test: [
      {
        eval_time: situation.at,
        alertname,
        exp_alerts: firing
          ? [{ exp_labels: { ...situation.labels, ...rule.labels }, exp_annotations: rule.annotations }]
          : [],
      },
    ],
    ...(situation.recorded && {
      promql_expr_test: situation.recorded.map((r) => ({
        expr: r.expr,
        eval_time: situation.at,
        exp_samples: [{ labels: r.expr, value: r.value }],
      })),
    }),
  };
}

/** A promtool unit-test file with every alert's firing and silent situations. */
export function unitTestFile(
  ruleFile: string,
  groups: readonly RuleGroup[],
  cases: Record<string, AlertCases>,
): Record<string, unknown> {
  return {
    rule_files: [ruleFile],
    evaluation_interval: '1m',
    tests: Object.entries(cases).flatMap(([alertname, c]) => [
      testGroup(groups, alertname, c.firing, true),
      ...c.silent.map((s) => testGroup(groups, alertname, s, false)),
    ]),
  };
}
