import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadEnvironment, resolveEnvironment, type EnvironmentFile } from '../../environments/index.ts';
import { failoverPlan, failoverRequest, rewritePrimaryRegion } from '../../scripts/lib/failover.ts';
import { repoRoot } from '../../scripts/lib/tools.ts';

const scratch = mkdtempSync(join(tmpdir(), 'ringforge-failover-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * A copy of environments/prod.ts in a temporary folder, as an operator's checkout has it; its relative
 * imports (the released images) point back at the repository's environments folder so it loads there.
 */
function prodCopy(): { path: string; text: string } {
  const path = join(scratch, 'prod.ts');
  const environments = join(repoRoot, 'environments');
  const text = readFileSync(join(environments, 'prod.ts'), 'utf8').replace(
    /from '\.\/([\w-]+\.ts)'/g,
    (_, file: string) => `from '${join(environments, file)}'`,
  );
  writeFileSync(path, text);
  return { path, text };
}

describe('npm run failover: the request', () => {
  test('prod to hel1 is a switch from fsn1', () => {
    const r = failoverRequest(loadEnvironment('prod'), 'hel1');
    assert.deepEqual([r.from, r.to], ['fsn1', 'hel1']);
  });

  test('refuses an unknown region, the current primary, and an environment without a standby', () => {
    assert.throws(
      () => failoverRequest(loadEnvironment('prod'), 'nbg1'),
      /--to: must be one of the regions of prod \(fsn1, hel1\) \(got nbg1\)/,
    );
    assert.throws(
      () => failoverRequest(loadEnvironment('prod'), 'fsn1'),
      /--to: fsn1 is already the primary region of prod/,
    );
    assert.throws(
      () => failoverRequest(loadEnvironment('staging'), 'nbg1'),
      /environments\/staging\.ts: failover needs a tier 3 environment with a standby region \(it has 1 region\)/,
    );
    assert.throws(() => failoverRequest(loadEnvironment('local'), 'fsn1'), /no Hetzner regions/);
  });
});

describe('npm run failover: the edit of the environment file', () => {
  test('changes only the primaryRegion line of a copy of prod.ts, and the result resolves to hel1', async () => {
    // given
    const { path, text } = prodCopy();
    // when
    const edited = rewritePrimaryRegion(text, 'environments/prod.ts', 'fsn1', 'hel1');
    writeFileSync(path, edited);
    // then
    const before = text.split('\n');
    const changed = edited.split('\n').flatMap((line, i) => (line === before[i] ? [] : [[before[i], line]]));
    assert.deepEqual(changed, [["  primaryRegion: 'fsn1',", "  primaryRegion: 'hel1',"]]);
    const file = ((await import(path)) as { default: EnvironmentFile }).default;
    const env = resolveEnvironment(path, file);
    assert.equal(env.platform === 'hetzner' && env.primaryRegion, 'hel1');
  });

  test('keeps the quote style and a trailing comment', () => {
    const text = 'export default {\n  primaryRegion: "fsn1", // the writer\n};\n';
    assert.equal(
      rewritePrimaryRegion(text, 'x.ts', 'fsn1', 'hel1'),
      'export default {\n  primaryRegion: "hel1", // the writer\n};\n',
    );
  });

  test('refuses a file without the field, with it twice, in another form, or naming another region', () => {
    const { text } = prodCopy();
    assert.throws(
      () => rewritePrimaryRegion(text.replace(/^ {2}primaryRegion:.*\n/m, ''), 'environments/prod.ts', 'fsn1', 'hel1'),
      /environments\/prod\.ts: expected exactly one line `primaryRegion: 'fsn1',` \(found 0\)/,
    );
    assert.throws(
      () => rewritePrimaryRegion(`${text}\n  primaryRegion: 'fsn1',\n`, 'environments/prod.ts', 'fsn1', 'hel1'),
      /\(found 2\)/,
    );
    assert.throws(
      () =>
        rewritePrimaryRegion(
          text.replace("primaryRegion: 'fsn1'", 'primaryRegion: PRIMARY'),
          'environments/prod.ts',
          'fsn1',
          'hel1',
        ),
      /environments\/prod\.ts:\d+: primaryRegion must be a quoted region name on its own line, e\.g\. `primaryRegion: 'fsn1',` \(got `primaryRegion: PRIMARY,`\)/,
    );
    assert.throws(
      () => rewritePrimaryRegion(text, 'environments/prod.ts', 'hel1', 'fsn1'),
      /primaryRegion names fsn1, but the environment resolves to hel1/,
    );
  });
});

describe('npm run failover: the plan', () => {
  test('says what to commit, deploy and check, for both regions', () => {
    const plan = failoverPlan(failoverRequest(loadEnvironment('prod'), 'hel1'), 'environments/prod.ts', new Date(0));
    assert.match(plan, /^# Failover of prod: fsn1 → hel1\n/);
    assert.match(plan, /git add environments\/prod\.ts dist\/\n/);
    assert.match(plan, /git push origin HEAD:release\n/);
    assert.match(plan, /npx cdktf deploy prod-edge\n/);
    assert.match(plan, /kubectl --context <prod-hel1> -n ringforge-data get cluster pg/);
    assert.match(plan, /kubectl --context <prod-hel1> cnpg -n ringforge-data status pg/);
    assert.match(plan, /kubectl --context <prod-fsn1> -n ringforge-data get cluster pg/);
    assert.match(plan, /`primary` and `self` are `pg-hel1`/);
    assert.match(plan, /Fencing the old region/);
    assert.match(plan, /curl -s https:\/\/hub\.ringforge\.example\/api\/ready/);
    assert.match(plan, /pool `prod-hel1` Healthy/);
  });
});
