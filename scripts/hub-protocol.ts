/*
 * Writes the hub's message schemas where people and tools read them: src/hub/asyncapi.json (an
 * AsyncAPI 3.0 document) and the generated section at the end of src/hub/PROTOCOL.md, both from the
 * zod schemas in src/hub/protocol/. Only the text between the section's markers is rewritten; the
 * markers are appended when the file has none. `--check` writes nothing and exits 1, naming each file,
 * when one differs from what would be generated.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { asyncApiDocument, protocolMarkdown } from '../src/hub/protocol/asyncapi.ts';
import { repoRoot } from './lib/tools.ts';

export const ASYNCAPI_PATH = join(repoRoot, 'src', 'hub', 'asyncapi.json');
export const PROTOCOL_PATH = join(repoRoot, 'src', 'hub', 'PROTOCOL.md');
export const SECTION_START = '<!-- generated: message schemas (npm run hub:protocol) -->';
export const SECTION_END = '<!-- end generated -->';

/** Formats like `npm run format` would, so `prettier --check` agrees with the generator. */
async function formatted(text: string, path: string): Promise<string> {
  const options = await prettier.resolveConfig(path);
  return prettier.format(text, { ...options, filepath: path });
}

export async function generateAsyncApi(): Promise<string> {
  return formatted(JSON.stringify(asyncApiDocument(), null, 2), ASYNCAPI_PATH);
}

export async function generateSection(): Promise<string> {
  return (await formatted(protocolMarkdown(), PROTOCOL_PATH)).trim();
}

/** The document with the section between the markers replaced, or appended with markers when absent. */
export function withSection(document: string, section: string): string {
  const start = document.indexOf(SECTION_START);
  const end = start === -1 ? -1 : document.indexOf(SECTION_END, start + SECTION_START.length);
  if (start !== -1 && end === -1) throw new Error(`${PROTOCOL_PATH}: "${SECTION_START}" has no "${SECTION_END}"`);
  if (start === -1) return `${document.trimEnd()}\n\n${SECTION_START}\n\n${section}\n\n${SECTION_END}\n`;
  return `${document.slice(0, start + SECTION_START.length)}\n\n${section}\n\n${document.slice(end)}`;
}

/** Each generated file with its current and expected content. */
export async function generatedFiles(): Promise<{ path: string; current: string | undefined; expected: string }[]> {
  const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : undefined);
  const protocol = read(PROTOCOL_PATH);
  if (protocol === undefined) throw new Error(`${PROTOCOL_PATH} is missing`);
  return [
    { path: ASYNCAPI_PATH, current: read(ASYNCAPI_PATH), expected: await generateAsyncApi() },
    { path: PROTOCOL_PATH, current: protocol, expected: withSection(protocol, await generateSection()) },
  ];
}

async function main(check: boolean): Promise<number> {
  const stale = (await generatedFiles()).filter((file) => file.current !== file.expected);
  for (const file of stale) {
    const name = file.path.slice(repoRoot.length);
    if (check) console.error(`${name} is out of date: run npm run hub:protocol`);
    else {
      writeFileSync(file.path, file.expected);
      console.log(`wrote ${name}`);
    }
  }
  if (stale.length === 0) console.log('the hub protocol files are up to date');
  return check && stale.length > 0 ? 1 : 0;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.includes('--check'));
}
