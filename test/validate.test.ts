import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../scripts/lib/tools.ts';
import { synthAll } from '../scripts/synth.ts';
import { validateStackFile } from '../scripts/validate.ts';

// These tests run the real tofu with the real providers: `npm run toolchain` must have run.
describe('tofu validate with the real providers', () => {
  let dist: string;
  before(() => {
    dist = mkdtempSync(join(tmpdir(), 'ringforge-validate-test-'));
    synthAll(dist);
  });
  after(() => rmSync(dist, { recursive: true, force: true }));

  const stackFile = (stack: string) => join(dist, 'terraform', stack, 'cdk.tf.json');

  /** Writes a copy of a synthesized stack with one change and validates it. */
  async function validateChanged(stack: string, change: (doc: any) => void) {
    const doc = JSON.parse(readFileSync(stackFile(stack), 'utf8'));
    change(doc);
    const file = join(dist, `${stack}-changed.tf.json`);
    writeFileSync(file, JSON.stringify(doc));
    return validateStackFile(`${stack}-changed`, file);
  }

  test('the synthesized dev stacks are valid', async () => {
    for (const stack of ['dev-infra', 'dev-edge']) {
      const result = await validateStackFile(stack, stackFile(stack));
      assert.deepEqual(
        result.diagnostics.filter((d) => d.severity === 'error'),
        [],
        stack,
      );
      assert.equal(result.valid, true, stack);
    }
  });

  test('an attribute the hcloud provider does not know fails, naming it', async () => {
    const result = await validateChanged('dev-infra', (doc) => {
      const [server] = Object.values(doc.resource.hcloud_server) as any[];
      server.flavour = 'large';
    });
    assert.equal(result.valid, false);
    const error = result.diagnostics.find((d) => d.summary === 'Extraneous JSON object property');
    assert.ok(error, JSON.stringify(result.diagnostics));
    assert.match(error.detail ?? '', /No argument or block type is named "flavour"/);
  });

  test('an attribute the Cloudflare provider does not know fails, naming it', async () => {
    const result = await validateChanged('dev-edge', (doc) => {
      const [record] = Object.values(doc.resource.cloudflare_dns_record) as any[];
      record.orange_cloud = true;
    });
    assert.equal(result.valid, false);
    const error = result.diagnostics.find((d) => d.summary === 'Extraneous JSON object property');
    assert.ok(error, JSON.stringify(result.diagnostics));
    assert.match(error.detail ?? '', /No argument or block type is named "orange_cloud"/);
  });

  test('a wrongly typed value fails', async () => {
    const result = await validateChanged('dev-edge', (doc) => {
      const [record] = Object.values(doc.resource.cloudflare_dns_record) as any[];
      record.proxied = { yes: true };
    });
    assert.equal(result.valid, false);
    assert.ok(
      result.diagnostics.some((d) => d.severity === 'error'),
      JSON.stringify(result.diagnostics),
    );
  });
});

describe('npm run validate without the toolchain', () => {
  test('fails and says how to install it, instead of skipping', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'ringforge-no-tools-'));
    try {
      const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/validate.ts'], {
        cwd: repoRoot,
        env: { ...process.env, RINGFORGE_TOOLS_DIR: empty },
      });
      await assert.rejects(run, (err: { code?: number; stderr?: string }) => {
        assert.notEqual(err.code, 0);
        assert.match(err.stderr ?? '', /tofu is not installed in .*: run `npm run toolchain` first/);
        return true;
      });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
