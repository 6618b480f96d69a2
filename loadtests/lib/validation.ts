import type { z } from 'zod';

/** `scenarios.dm.stages[1].target`: the field path as it would be written in the options. */
function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`))
    .join('');
}

/** One line per issue, naming the field path and the rule, and echoing a short received value. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length ? formatPath(issue.path) : '(root)';
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${path}: is required (${issue.expected})`;
  // Objects would drown the message; scalars are short enough to read.
  const input = 'input' in issue ? issue.input : undefined;
  const got =
    input !== undefined && (input === null || typeof input !== 'object') ? ` (got ${JSON.stringify(input)})` : '';
  return `${path}: ${issue.message}${issue.message.includes('(got ') ? '' : got}`;
}
