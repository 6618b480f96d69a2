import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { scanForSecrets } from '../scripts/lib/secret-scan.ts';
import { repoRoot } from '../scripts/lib/tools.ts';

const distFiles = (): string[] =>
  (readdirSync(join(repoRoot, 'dist'), { recursive: true }) as string[])
    .map((f) => join(repoRoot, 'dist', f))
    .filter((f) => statSync(f).isFile());

describe('secret scan', () => {
  test('finds no secret in any committed synthesized file', () => {
    const files = distFiles();
    assert.ok(files.length > 0, 'dist/ has files');
    for (const file of files) assert.deepEqual(scanForSecrets(readFileSync(file, 'utf8')), [], file);
  });

  // Built at run time so this file itself holds nothing that looks like a secret.
  const fixtures: [string, string][] = [
    ['private key', `{"key": "-----BEGIN ${'EC'} PRIVATE KEY-----\\nMHc..."}`],
    ['AWS-style access key id', `{"access": "${'AKIA'}${'Z'.repeat(16)}"}`],
    ['Hetzner Cloud API token', `{"token_ref": "${'aB3'.repeat(21)}x"}`],
    ['Cloudflare API token', `{"t": "${'Q1w-'.repeat(10)}"}`],
    ['GitHub token', `ghp_${'a1B2'.repeat(9)}`],
    ['literal credential', `{"password": "hunter22"}`],
    ['credentials in a URL', `DATABASE_URL=postgres://app:${'s3cret'}@db:5432/app`],
  ];
  for (const [kind, text] of fixtures) {
    test(`finds a ${kind}, masked in the report`, () => {
      const findings = scanForSecrets(`line one\n${text}\n`);
      assert.ok(
        findings.some((f) => f.kind === kind && f.line === 2),
        JSON.stringify(findings),
      );
      for (const f of findings) assert.ok(!text.includes(f.excerpt) || f.excerpt === '***' || f.excerpt.includes('…'));
    });
  }

  test('ignores references, digests and generated ids', () => {
    const text = JSON.stringify({
      password_ref: '${var.postgres_password}',
      image: `ghcr.io/ringforge/hub@sha256:${'ab12'.repeat(16)}`,
      id: 'hcloud_server.Single_Server1_5344A4F8',
      url: 'https://fsn1.your-objectstorage.com',
    });
    assert.deepEqual(scanForSecrets(text), []);
  });
});
