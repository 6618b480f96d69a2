/*
 * The GitHub Actions workflows pass actionlint, with shellcheck reading their `run:` scripts. Both come
 * from `npm run toolchain` (actionlint pinned in scripts/toolchain.env, shellcheck a Debian package);
 * without either the tests fail with how to install it, since actionlint alone silently skips scripts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoRoot, toolsDir } from '../scripts/lib/tools.ts';

const workflowsDir = join(repoRoot, '.github', 'workflows');

function actionlint(): string {
  const path = join(toolsDir, 'bin', 'actionlint');
  if (!existsSync(path)) throw new Error(`actionlint is not installed in ${toolsDir}/bin: run \`npm run toolchain\``);
  return path;
}

function shellcheck(): string {
  const found = spawnSync('sh', ['-c', 'command -v shellcheck'], { encoding: 'utf8' }).stdout.trim();
  if (found === '') throw new Error('shellcheck is not on PATH: run `npm run toolchain` (as root) to install it');
  return found;
}

interface Finding {
  readonly message: string;
  readonly filepath: string;
  readonly line: number;
  readonly kind: string;
}

/** actionlint's findings for the files, from its JSON output; its exit code 1 means findings, above 1 a failure. */
function lint(files: readonly string[], cwd: string): Finding[] {
  const result = spawnSync(actionlint(), ['-shellcheck', shellcheck(), '-format', '{{json .}}', ...files], {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (result.error !== undefined || (result.status ?? 2) > 1) {
    throw new Error(`actionlint failed (exit ${result.status}): ${result.error?.message ?? result.stderr}`);
  }
  return JSON.parse(result.stdout || '[]') as Finding[];
}

describe('GitHub Actions workflows', () => {
  let work: string;
  before(() => (work = mkdtempSync(join(tmpdir(), 'rf-workflows-test-'))));
  after(() => rmSync(work, { recursive: true, force: true }));

  test('every workflow in .github/workflows passes actionlint and shellcheck', () => {
    const files = readdirSync(workflowsDir)
      .filter((name) => /\.ya?ml$/.test(name))
      .map((name) => join('.github', 'workflows', name));
    assert.ok(files.includes('.github/workflows/release.yml'), files.join(' '));
    const findings = lint(files, repoRoot);
    assert.deepEqual(
      findings.map((f) => `${f.filepath}:${f.line}: [${f.kind}] ${f.message}`),
      [],
    );
  });

  test('the check reports a broken workflow: an unknown action input, a bad expression and an unquoted variable', () => {
    const dir = join(work, '.github', 'workflows');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'broken.yml'),
      [
        'on: push',
        'jobs:',
        '  build:',
        '    runs-on: ubuntu-24.04',
        '    steps:',
        '      - uses: actions/checkout@v4',
        '        with:',
        '          no-such-input: true',
        '      - run: echo ${{ github.no_such_context }}',
        '      - run: rm -rf $TARGET/',
        '',
      ].join('\n'),
    );
    const kinds = lint(['.github/workflows/broken.yml'], work).map((f) => f.kind);
    for (const kind of ['action', 'expression', 'shellcheck']) assert.ok(kinds.includes(kind), kinds.join(' '));
  });
});
