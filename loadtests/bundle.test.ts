/*
 * The runner as the load-test Job runs it: loadtest.mjs from the hub bundle, in a directory with no
 * repository around it (the image's /app). No traffic: only what it does before reaching a target.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildHubBundle } from '../src/hub/build.ts';

describe('the bundled runner (hub image)', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rf-loadtest-bundle-'));
  before(() => buildHubBundle(dir));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const runner = (...args: string[]) => {
    const env = { PATH: process.env.PATH, JOB_COMPLETION_INDEX: '1', LOADTEST_PARALLELISM: '4' };
    return spawnSync(process.execPath, [join(dir, 'loadtest.mjs'), ...args], { cwd: dir, env, encoding: 'utf8' });
  };

  it('starts without the repository and lists its scenarios', () => {
    const help = runner('--help');
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^usage: npm run loadtest -- <scenario>/);
    assert.match(help.stdout, /scenarios: .*\bfanout\b/);
  });

  it("reads its slice from the pod's environment and refuses a remote target without a key", () => {
    const run = runner('fanout', '--env', 'staging', '--target', 'ws://hub.ringforge.svc.cluster.local:8080/ws');
    assert.equal(run.status, 1);
    assert.match(run.stdout, /fanout: error: a remote target needs an API key: set LOADTEST_API_KEY/);
    const badSlice = runner('fanout', '--slice', '4/4');
    assert.equal(badSlice.status, 1);
    assert.match(badSlice.stderr, /--slice 4\/4: the index must be < the count/);
  });
});
