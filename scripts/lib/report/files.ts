/* Where reports are written: a directory of named files, one per run or per tool. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** `<timestamp>-<name>`, sortable by time and safe on every filesystem. */
export const runDirName = (name: string, at = new Date()) => `${at.toISOString().replace(/[:.]/g, '-')}-${name}`;

/** Writes each named file into `dir` (created when missing); returns their paths. */
export function writeFiles(dir: string, files: Readonly<Record<string, string>>): string[] {
  mkdirSync(dir, { recursive: true });
  return Object.entries(files).map(([name, content]) => {
    const path = join(dir, name);
    writeFileSync(path, content.endsWith('\n') ? content : `${content}\n`);
    return path;
  });
}

export const jsonFile = (data: unknown) => `${JSON.stringify(data, null, 2)}\n`;
