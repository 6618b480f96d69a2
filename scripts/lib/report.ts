import { join } from 'node:path';
import { jsonFile, writeFiles } from './report/files.ts';
import { repoRoot } from './tools.ts';

/** Writes reports/<name>/report.json for machines and report.md for people; returns the directory. */
export function writeReport(name: string, data: unknown, markdown: string): string {
  const dir = join(repoRoot, 'reports', name);
  writeFiles(dir, { 'report.json': jsonFile(data), 'report.md': markdown });
  return dir;
}
