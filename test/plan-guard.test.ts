import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { findDestructions, unallowed } from '../scripts/lib/plan-guard.ts';
import { repoRoot, tofuEnv, tool } from '../scripts/lib/tools.ts';

const run = promisify(execFile);

const change = (address: string, actions: string[], reason?: string) => ({
  address,
  type: address.split('.')[0],
  ...(reason ? { action_reason: reason } : {}),
  change: { actions },
});

// Fixture in the documented `tofu show -json` format.
const fixture = {
  format_version: '1.2',
  resource_changes: [
    change('hcloud_server.Worker_Server1', ['delete', 'create'], 'replace_because_cannot_update'),
    change('hcloud_volume.Postgres_Volume1', ['delete']),
    change('hcloud_load_balancer.LoadBalancer', ['update']),
    change('hcloud_firewall.Firewall', ['delete', 'create']),
    change('hcloud_server.Hub_Server2', ['create']),
  ],
};

describe('plan guard', () => {
  test('names servers and volumes a plan would replace or delete, and nothing else', () => {
    assert.deepEqual(findDestructions(fixture), [
      {
        address: 'hcloud_server.Worker_Server1',
        type: 'hcloud_server',
        kind: 'replace',
        reason: 'replace_because_cannot_update',
      },
      { address: 'hcloud_volume.Postgres_Volume1', type: 'hcloud_volume', kind: 'delete' },
    ]);
  });

  test('an explicit allowance covers exactly the named resource', () => {
    const found = findDestructions(fixture);
    assert.deepEqual(
      unallowed(found, ['hcloud_server.Worker_Server1']).map((d) => d.address),
      ['hcloud_volume.Postgres_Volume1'],
    );
  });

  test('rejects input that is not a JSON plan', () => {
    assert.throws(() => findDestructions({ resources: [] }), /expected the output of `tofu show -json <planfile>`/);
  });

  describe('the command', () => {
    let dir: string;
    before(() => (dir = mkdtempSync(join(tmpdir(), 'ringforge-plan-guard-'))));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const guard = (...args: string[]) =>
      run(process.execPath, ['--import', 'tsx', 'scripts/plan-guard.ts', ...args], { cwd: repoRoot }).then(
        (r) => ({ code: 0, out: r.stdout + r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
      );

    test('fails naming each blocked resource, passes once each is allowed', async () => {
      const file = join(dir, 'plan.json');
      writeFileSync(file, JSON.stringify(fixture));
      const blocked = await guard(file);
      assert.equal(blocked.code, 1);
      assert.match(
        blocked.out,
        /plan would replace hcloud_server\.Worker_Server1, delete hcloud_volume\.Postgres_Volume1/,
      );
      const allowed = await guard(
        file,
        '--allow',
        'hcloud_server.Worker_Server1',
        '--allow',
        'hcloud_volume.Postgres_Volume1',
      );
      assert.equal(allowed.code, 0, allowed.out);
      assert.match(allowed.out, /every destructive change is explicitly allowed/);
    });

    test('reads a real plan made by tofu', async () => {
      // A replacement planned by the real tofu, on a resource type that needs no provider.
      const tofu = tool('tofu');
      const env = tofuEnv();
      const config = (input: string) =>
        writeFileSync(
          join(dir, 'main.tf.json'),
          JSON.stringify({ resource: { terraform_data: { node: { triggers_replace: input } } } }),
        );
      config('a');
      await run(tofu, ['init', '-input=false'], { cwd: dir, env });
      await run(tofu, ['apply', '-auto-approve', '-input=false'], { cwd: dir, env });
      config('b');
      await run(tofu, ['plan', '-input=false', '-out=plan.out'], { cwd: dir, env });
      const { stdout } = await run(tofu, ['show', '-json', 'plan.out'], { cwd: dir, env, maxBuffer: 1 << 24 });
      assert.deepEqual(findDestructions(JSON.parse(stdout), ['terraform_data']), [
        {
          address: 'terraform_data.node',
          type: 'terraform_data',
          kind: 'replace',
          reason: 'replace_because_cannot_update',
        },
      ]);
      assert.deepEqual(findDestructions(JSON.parse(stdout)), [], 'terraform_data is not guarded by default');
    });
  });
});
