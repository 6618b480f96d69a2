/*
 * The listeners as an attacker meets them: request targets no browser sends, resets at every stage of
 * a handshake, oversized headers and seeded random mutations of real requests, against a hub running
 * as its own process. Whatever arrives, the process stays up, both listeners keep answering and
 * nothing counts as an internal error.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../../scripts/lib/tools.ts';
import { ADMIN_TOKEN } from './helpers/hub-harness.ts';
import { startHubProcess, TSX_HUB, type HubProcess } from './helpers/hub-process.ts';
import { exchange, statusOf, writeThenReset } from './helpers/raw-http.ts';
import { prng } from '../../src/hub/fuzz/prng.ts';

const UPGRADE_HEADERS =
  'Host: hub\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
const upgrade = (target: string) => `GET ${target} HTTP/1.1\r\n${UPGRADE_HEADERS}\r\n`;
const get = (target: string) => `GET ${target} HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n`;

describe('hostile HTTP and upgrade requests (hub process)', () => {
  let dataDir: string;
  let hub: HubProcess;
  let ports: { public: number; operations: number };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'rf-hub-hostile-http-'));
    hub = await startHubProcess(TSX_HUB, {
      HUB_DATA_DIR: dataDir,
      DATABASE_URL: '',
      REDIS_URL: '',
      HUB_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    ports = { public: hub.port, operations: Number(new URL(hub.adminUrl).port) };
  });

  after(async () => {
    // The hub must still be the process that started: no crash, no restart.
    assert.equal(hub.child.exitCode, null, 'the hub process exited during the hostile requests');
    assert.equal((await fetch(`${hub.httpUrl}/api/health`)).status, 200);
    assert.equal((await fetch(`${hub.adminUrl}/api/ready`)).status, 200);
    const metrics = await (await fetch(`${hub.adminUrl}/metrics`)).text();
    assert.doesNotMatch(metrics, /^hub_internal_errors_total\{[^}]*\} [1-9]/m);
    assert.equal(await hub.terminate(), 0);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers request targets that are not origin-form paths with 400, on both listeners', async () => {
    for (const port of [ports.public, ports.operations]) {
      for (const target of ['//a:99999/', '//', 'http://hub:99999/api/health', '*', 'hub:443']) {
        const status = statusOf(await exchange(port, get(target)));
        assert.equal(status, 400, `GET ${target} on port ${port} answered ${status}`);
      }
    }
  });

  it('refuses an upgrade whose target is not a path, and one to a path other than /ws', async () => {
    assert.equal(statusOf(await exchange(ports.public, upgrade('//a:99999/'))), 404);
    assert.equal(statusOf(await exchange(ports.public, upgrade('http://hub/ws'))), 404);
    assert.equal(statusOf(await exchange(ports.public, upgrade('/elsewhere'))), 404);
    assert.equal(statusOf(await exchange(ports.operations, upgrade('/ws'))), 404);
  });

  it('keeps the private routes off the public listener', async () => {
    assert.equal((await fetch(`${hub.httpUrl}/metrics`)).status, 404);
    const admin = await fetch(`${hub.httpUrl}/api/admin/tenants`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(admin.status, 404);
    assert.equal((await fetch(`${hub.adminUrl}/metrics`)).status, 200);
  });

  it('survives resets at every stage of a refused and an accepted upgrade', async () => {
    const stages: Array<[string, string]> = [
      ['nothing sent', ''],
      ['half a request line', 'GET /w'],
      ['headers without their end', `GET /ws HTTP/1.1\r\n${UPGRADE_HEADERS}`],
      ['a refused upgrade', upgrade('/elsewhere')],
      ['a refused upgrade with a bad target', upgrade('//a:99999/')],
      ['an accepted upgrade', upgrade('/ws')],
      ['a request with a body still to come', 'POST /api/ready HTTP/1.1\r\nHost: hub\r\nContent-Length: 100\r\n\r\n{'],
    ];
    for (let round = 0; round < 12; round++) {
      for (const [, bytes] of stages) {
        await Promise.all([
          writeThenReset(ports.public, bytes, round % 3),
          writeThenReset(ports.operations, bytes, round % 3),
        ]);
      }
    }
    assert.equal(hub.child.exitCode, null);
    assert.equal((await fetch(`${hub.httpUrl}/api/health`)).status, 200);
  });

  it('answers oversized headers with 431 and garbage with 400', async () => {
    const huge = `GET /api/health HTTP/1.1\r\nHost: hub\r\nX-Pad: ${'a'.repeat(20_000)}\r\n\r\n`;
    assert.equal(statusOf(await exchange(ports.public, huge)), 431);
    assert.equal(statusOf(await exchange(ports.public, '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03')), 400);
    assert.equal(statusOf(await exchange(ports.operations, 'GET / HTTP/9.9\r\n\r\n')), 400);
  });

  it('stays up through 400 seeded random mutations of real requests', async () => {
    const random = prng(11);
    const int = (n: number) => Math.floor(random() * n);
    const seeds = [upgrade('/ws'), get('/api/ready'), get('/metrics'), upgrade('/elsewhere')];
    const mutate = (text: string): Buffer => {
      const bytes = Buffer.from(text, 'latin1');
      switch (int(5)) {
        case 0: // flip bytes
          for (let i = 0; i < 1 + int(6); i++) bytes[int(bytes.length)] = int(256);
          return bytes;
        case 1: // cut anywhere
          return bytes.subarray(0, int(bytes.length));
        case 2: // a random target
          return Buffer.from(
            text.replace(
              /^GET \S+/,
              `GET ${['//', '/', 'http://', '*', ''][int(5)]}${'a:%/?#@'[int(7)]!.repeat(int(40))}`,
            ),
            'latin1',
          );
        case 3: // duplicated or repeated headers
          return Buffer.from(
            text.replace(
              'Host: hub\r\n',
              'Host: hub\r\n'.repeat(1 + int(3)) + 'Content-Length: 5\r\nContent-Length: 7\r\n',
            ),
            'latin1',
          );
        default: // random bytes after a valid start
          return Buffer.concat([
            bytes.subarray(0, int(bytes.length)),
            Buffer.from(Array.from({ length: int(200) }, () => int(256))),
          ]);
      }
    };
    for (let i = 0; i < 400; i += 8) {
      await Promise.all(
        Array.from({ length: 8 }, (_, j) => {
          const port = (i + j) % 2 === 0 ? ports.public : ports.operations;
          const request = mutate(seeds[int(seeds.length)]!);
          return int(3) === 0 ? writeThenReset(port, request, int(3)) : exchange(port, request, 300);
        }),
      );
    }
    assert.equal(hub.child.exitCode, null);
  });
});

describe('the process guard', () => {
  it('logs and counts an error that escaped every handler instead of exiting', () => {
    // given a process with the guard, when a timer throws and a promise rejects unhandled
    const script = `
      import { createLogger } from './src/hub/log.ts';
      import { HubMetrics } from './src/hub/metrics.ts';
      import { guardProcess } from './src/hub/process-guard.ts';
      const metrics = new HubMetrics('guard-test');
      guardProcess(createLogger('error'), metrics);
      setTimeout(() => { throw new Error('escaped from a timer'); }, 10);
      setTimeout(() => void Promise.reject(new Error('rejected unhandled')), 20);
      setTimeout(async () => {
        const text = await metrics.registry.metrics();
        console.log(/hub_internal_errors_total\\{where="process",replica="guard-test"\\} (\\d+)/.exec(text)?.[1]);
      }, 100);
    `;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    // then the process lived to report both, and logged each
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.equal(lines.at(-1), '2');
    assert.equal(lines.filter((l) => l.includes('escaped every handler')).length, 2);
  });
});
