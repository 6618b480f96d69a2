/*
 * Restore plans for remote targets (k8s, vm): the same steps are printed by --dry-run and executed
 * by a real run, so what a dry run shows is exactly what a drill does.
 */
import { $ } from 'zx';
import type { PlanStep } from '../restore/k8s.ts';
import type { Printer } from './timeline.ts';
import { Timeline } from './timeline.ts';

export function printPlan(
  title: string,
  steps: readonly PlanStep[],
  manifests: readonly object[],
  print: Printer,
): void {
  print(`# ${title}`);
  for (const [i, step] of steps.entries()) {
    print(`\n## ${i + 1}. ${step.name}: ${step.description}`);
    print(
      `$ ${step.command.map((a) => (/^[\w@%+=:,./<>-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')}`,
    );
    if (step.stdin !== undefined) print(step.stdin.trimEnd());
  }
  if (manifests.length > 0) print(`\n(${manifests.length} manifests above, applied with step "apply")`);
}

/** Runs one step, its placeholders filled by `substitute`, and resolves with its trimmed stdout. */
export async function runPlanStep(step: PlanStep, substitute: (arg: string) => string = (arg) => arg): Promise<string> {
  const [bin, ...args] = step.command.map(substitute);
  const output = await $({ quiet: true, input: step.stdin ?? '' })`${bin!} ${args}`;
  return output.stdout.trim();
}

/** Runs the steps in order; `substitute` fills placeholders from earlier outputs (backup id, recovery point). */
export async function executePlan(
  timeline: Timeline,
  steps: readonly PlanStep[],
  options: {
    recoverySteps: readonly string[];
    substitute: (arg: string, outputs: Map<string, string>) => string;
    cleanup: readonly string[];
  },
): Promise<Map<string, string>> {
  const outputs = new Map<string, string>();
  const run = async (step: PlanStep) =>
    outputs.set(step.name, await runPlanStep(step, (a) => options.substitute(a, outputs)));
  try {
    for (const step of steps.filter((s) => !options.cleanup.includes(s.name))) {
      await timeline.phase(step.name, step.description, () => run(step), {
        recovery: options.recoverySteps.includes(step.name),
      });
    }
  } finally {
    for (const step of steps.filter((s) => options.cleanup.includes(s.name))) {
      await timeline.phase(step.name, step.description, () => run(step)).catch(() => undefined);
    }
  }
  return outputs;
}
