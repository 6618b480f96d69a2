import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { synthAll } from '../scripts/synth.ts';

// Relative paths of the files under dir (Node 20's recursive Dirent paths are unreliable).
const listFiles = (dir: string): string[] =>
  (readdirSync(dir, { recursive: true }) as string[]).filter((f) => statSync(join(dir, f)).isFile()).sort();

test('synth is deterministic: two runs write byte-identical files', () => {
  const [a, b] = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'ringforge-synth-test-')));
  try {
    const summary = synthAll(a!);
    synthAll(b!);
    const files = listFiles(a!);
    assert.deepEqual(files, listFiles(b!));
    for (const s of summary.stacks) assert.ok(files.includes(join('terraform', s.stack, 'cdk.tf.json')), s.stack);
    assert.ok(files.includes(join('compose', 'dev', 'compose.yaml')), 'the tier 0 compose file is written');
    for (const f of files) assert.equal(readFileSync(join(a!, f), 'utf8'), readFileSync(join(b!, f), 'utf8'), f);
  } finally {
    for (const d of [a!, b!]) rmSync(d, { recursive: true, force: true });
  }
});

test('synth removes stacks that no longer exist in the code', () => {
  const dist = mkdtempSync(join(tmpdir(), 'ringforge-synth-test-'));
  try {
    synthAll(dist);
    const current = listFiles(dist);
    mkdirSync(join(dist, 'terraform', 'retired-stack'));
    writeFileSync(join(dist, 'terraform', 'retired-stack', 'cdk.tf.json'), '{}');
    synthAll(dist);
    assert.deepEqual(listFiles(dist), current);
  } finally {
    rmSync(dist, { recursive: true, force: true });
  }
});
