import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './tools.ts';

/** Writes a report both for machines (JSON) and for people (Markdown); returns the directory. */
export function writeReport(name: string, data: unknown, markdown: string): string {
  const dir = join(repoRoot, 'reports', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'report.json'), `${JSON.stringify(data, null, 2)}\n`);
  writeFileSync(join(dir, 'report.md'), markdown.endsWith('\n') ? markdown : `${markdown}\n`);
  return dir;
}
