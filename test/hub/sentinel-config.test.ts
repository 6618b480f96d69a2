/*
 * The hub's Redis settings: one address (REDIS_URL) or Sentinel (REDIS_SENTINELS and
 * REDIS_SENTINEL_MASTER), the password from REDIS_PASSWORD_FILE. Mistakes name the variable and the
 * rule, and the password never appears in an error or in the description the hub logs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, describeRedis, loadConfig } from '../../src/hub/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'rf-redis-config-'));
const SECRET = 'correct-horse-battery-staple';
const passwordFile = join(dir, 'password');
writeFileSync(passwordFile, `${SECRET}\n`);

const DATABASE_URL = 'postgres://hub@127.0.0.1:5432/hub';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    assert.ok(!error.message.includes(SECRET), 'the password is not echoed');
    return [...error.problems];
  }
  throw new Error('expected a ConfigError');
}

describe('Redis settings', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads Sentinel addresses, the primary name and the password file', () => {
    const config = loadConfig({
      DATABASE_URL,
      REDIS_SENTINELS: 'valkey-sentinel-0.example:26379, 10.0.0.7:26380,[::1]:26381',
      REDIS_SENTINEL_MASTER: 'ringforge',
      REDIS_PASSWORD_FILE: passwordFile,
    });
    assert.equal(config.mode, 'server');
    assert.deepEqual(config.redis, {
      kind: 'sentinel',
      sentinels: [
        { host: 'valkey-sentinel-0.example', port: 26379 },
        { host: '10.0.0.7', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      masterName: 'ringforge',
      password: SECRET,
    });
    const described = describeRedis(config.redis!);
    assert.equal(
      described,
      'the primary Sentinel names ringforge (sentinels valkey-sentinel-0.example:26379, 10.0.0.7:26380, [::1]:26381)',
    );
  });

  it('keeps REDIS_URL as it was, with the password file added when set', () => {
    assert.deepEqual(loadConfig({ DATABASE_URL, REDIS_URL: 'redis://127.0.0.1:6379' }).redis, {
      kind: 'direct',
      url: 'redis://127.0.0.1:6379',
    });
    const withFile = loadConfig({ DATABASE_URL, REDIS_URL: 'redis://valkey:6379', REDIS_PASSWORD_FILE: passwordFile });
    assert.equal(withFile.redis?.password, SECRET);
    assert.equal(describeRedis(withFile.redis!), 'redis://valkey:6379');
  });

  it('refuses malformed and contradictory settings, naming the variable', () => {
    assert.deepEqual(problems({ DATABASE_URL, REDIS_SENTINELS: '10.0.0.1', REDIS_SENTINEL_MASTER: 'ringforge' }), [
      'REDIS_SENTINELS: must be host:port entries separated by commas, port 1-65535 (got "10.0.0.1")',
    ]);
    assert.match(
      problems({ DATABASE_URL, REDIS_SENTINELS: 'a:1,b:70000', REDIS_SENTINEL_MASTER: 'm' })[0]!,
      /^REDIS_SENTINELS: .*port 1-65535 \(got "a:1,b:70000"\)/,
    );
    assert.match(
      problems({ DATABASE_URL, REDIS_SENTINELS: 'a:1', REDIS_SENTINEL_MASTER: 'bad name!' })[0]!,
      /^REDIS_SENTINEL_MASTER: must be 1-100 characters/,
    );
    assert.deepEqual(problems({ DATABASE_URL, REDIS_SENTINELS: 'a:26379' }), [
      'REDIS_SENTINEL_MASTER: required with REDIS_SENTINELS (the name the sentinels monitor)',
    ]);
    assert.deepEqual(problems({ DATABASE_URL, REDIS_URL: 'redis://a:6379', REDIS_SENTINEL_MASTER: 'ringforge' }), [
      'REDIS_SENTINEL_MASTER: only means something with REDIS_SENTINELS, which is unset',
    ]);
    assert.deepEqual(
      problems({ DATABASE_URL, REDIS_URL: 'redis://a:6379', REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_MASTER: 'm' }),
      ['REDIS_URL and REDIS_SENTINELS: set one (a fixed address, or Sentinel), not both'],
    );
    assert.deepEqual(problems({ REDIS_SENTINELS: 'a:26379', REDIS_SENTINEL_MASTER: 'm' }), [
      'DATABASE_URL and REDIS_URL: set both (server mode, any number of replicas; REDIS_SENTINELS may stand in for REDIS_URL) or neither (embedded mode, one replica)',
    ]);
  });

  it('refuses a password file that is missing, empty or holds more than one line', () => {
    const env = { DATABASE_URL, REDIS_URL: 'redis://a:6379' };
    const missing = join(dir, 'missing');
    assert.deepEqual(problems({ ...env, REDIS_PASSWORD_FILE: missing }), [
      `REDIS_PASSWORD_FILE: must name a readable file (ENOENT) (got ${JSON.stringify(missing)})`,
    ]);
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n');
    assert.match(problems({ ...env, REDIS_PASSWORD_FILE: empty })[0]!, /^REDIS_PASSWORD_FILE: the file must hold/);
    const twoLines = join(dir, 'two-lines');
    writeFileSync(twoLines, `${SECRET}\nsecond\n`);
    assert.match(problems({ ...env, REDIS_PASSWORD_FILE: twoLines })[0]!, /^REDIS_PASSWORD_FILE: the file must hold/);
    assert.deepEqual(problems({ REDIS_PASSWORD_FILE: passwordFile }), [
      'REDIS_PASSWORD_FILE: set REDIS_URL or REDIS_SENTINELS too',
    ]);
  });
});
