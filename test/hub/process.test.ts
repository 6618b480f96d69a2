/*
 * The hub as operators start it: `npm run hub` with nothing configured runs embedded and says so
 * first; bad configuration stops it with every problem named; SIGTERM makes it unready and lets it
 * exit cleanly.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import { repoRoot } from '../../scripts/lib/tools.ts';
import { ADMIN_TOKEN } from './helpers/hub-harness.ts';
import { startHubProcess, TSX_HUB } from './helpers/hub-process.ts';

describe('hub process', () => {
  it('`npm run hub` starts embedded, says so in its first log line, answers /api/health and stops on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rf-hub-npm-'));
    const env = { HUB_DATA_DIR: dataDir, DATABASE_URL: '', REDIS_URL: '', HUB_DRAIN_DELAY_MS: '1500' };
    const hub = await startHubProcess(['npm', 'run', '--silent', 'hub'], env);
    try {
      assert.equal(hub.logs[0].mode, 'embedded');
      assert.match(
        hub.logs[0].msg,
        /^hub starting in embedded mode: PGlite database in .*rf-hub-npm-.* and an in-process bus/,
      );
      const health = await fetch(`${hub.httpUrl}/api/health`);
      assert.equal(health.status, 200);
      assert.equal((await fetch(`${hub.httpUrl}/api/ready`)).status, 200);

      // given a shutdown in progress (the drain delay keeps the listener open for a moment)
      process.kill(-hub.child.pid!, 'SIGTERM');
      await new Promise((r) => setTimeout(r, 400));
      // then readiness is false, liveness still true, and new WebSocket connections are refused
      const ready = await fetch(`${hub.httpUrl}/api/ready`);
      assert.equal(ready.status, 503);
      assert.equal(((await ready.json()) as any).checks.draining, 'draining');
      assert.equal((await fetch(`${hub.httpUrl}/api/health`)).status, 200);
      const refused = await new Promise<number>((resolve) => {
        const ws = new WebSocket(hub.wsUrl);
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => resolve(101));
        ws.once('error', () => undefined);
      });
      assert.equal(refused, 503);
      // npm itself dies of the group's SIGTERM; the hub's own log shows that it finished its shutdown.
      await hub.outputClosed;
      assert.ok(
        hub.logs.some((l) => l.msg === 'hub stopped'),
        'the hub logged "hub stopped"',
      );
    } finally {
      await hub.terminate();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses to start with invalid configuration, naming every variable and the rule, without echoing secrets', () => {
    const run = spawnSync(TSX_HUB[0]!, TSX_HUB.slice(1), {
      cwd: repoRoot,
      env: {
        ...process.env,
        HUB_PORT: 'eighty',
        HUB_ADMIN_TOKEN: 'short-secret',
        DATABASE_URL: 'mysql://user:hunter2@db/hub',
        REDIS_URL: 'redis://127.0.0.1:1',
        HUB_RATE_TASKS_PER_MIN: '0',
      },
      encoding: 'utf8',
    });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /HUB_PORT: must be an integer between 0 and 65535 \(got "eighty"\)/);
    assert.match(run.stderr, /HUB_ADMIN_TOKEN: must be at least 32 characters/);
    assert.match(run.stderr, /DATABASE_URL: must use postgres: or postgresql: \(got mysql:\)/);
    assert.match(run.stderr, /HUB_RATE_TASKS_PER_MIN: must be an integer between 1 and 10000000 \(got "0"\)/);
    assert.doesNotMatch(run.stderr, /short-secret|hunter2/);
  });

  it('refuses DATABASE_URL without REDIS_URL: replicas without a shared bus would not see each other', () => {
    const run = spawnSync(TSX_HUB[0]!, TSX_HUB.slice(1), {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: 'postgres://127.0.0.1:1/hub', REDIS_URL: '' },
      encoding: 'utf8',
    });
    assert.equal(run.status, 2);
    assert.match(run.stderr, /DATABASE_URL and REDIS_URL: set both/);
  });

  it('keeps the admin API closed when no admin token is configured', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rf-hub-noadmin-'));
    const hub = await startHubProcess(TSX_HUB, {
      HUB_DATA_DIR: dataDir,
      DATABASE_URL: '',
      REDIS_URL: '',
      HUB_ADMIN_TOKEN: '',
    });
    try {
      const response = await fetch(`${hub.adminUrl}/api/admin/tenants`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      assert.equal(response.status, 503);
      assert.match(((await response.json()) as any).error, /HUB_ADMIN_TOKEN/);
    } finally {
      assert.equal(await hub.terminate(), 0);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
