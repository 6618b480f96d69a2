/*
 * The image's payload: the esbuild bundle that src/hub/Dockerfile copies, built into a directory with
 * no node_modules around it and run against real Postgres and Redis. The Dockerfile itself is checked
 * for the properties the platform relies on (no container engine is needed for that).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot, toolVersions } from '../../scripts/lib/tools.ts';
import { buildHubBundle } from '../../src/hub/build.ts';
import {
  ADMIN_TOKEN,
  Admin,
  closeAllClients,
  collectDms,
  connectAgent,
  eventually,
  startBacking,
  type Backing,
} from './helpers/hub-harness.ts';
import { startHubProcess, type HubProcess } from './helpers/hub-process.ts';

describe('bundle and image', () => {
  let backing: Backing;
  let outDir: string;
  let hub: HubProcess;

  before(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'rf-hub-bundle-'));
    const [, started] = await Promise.all([buildHubBundle(outDir), startBacking('server')]);
    backing = started;
  });

  after(async () => {
    closeAllClients();
    await hub?.terminate();
    await backing?.stop();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('migrates with the bundled migrate command, then serves agents from the bundled hub', async () => {
    const migrateRun = spawnSync(process.execPath, [join(outDir, 'migrate.mjs')], {
      cwd: outDir,
      env: { PATH: process.env.PATH, DATABASE_URL: backing.env.DATABASE_URL },
      encoding: 'utf8',
    });
    assert.equal(migrateRun.status, 0, migrateRun.stderr);
    assert.match(migrateRun.stdout, /"msg":"migrations applied"/);

    hub = await startHubProcess([process.execPath, join(outDir, 'hub.mjs')], {
      ...backing.env,
      HUB_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    assert.match(
      hub.logs[0].msg,
      /^hub starting in server mode: Postgres at postgres:\/\/127\.0\.0\.1:\d+\/postgres, Redis at redis:\/\/127\.0\.0\.1:\d+$/,
    );
    assert.equal((await fetch(`${hub.httpUrl}/api/health`)).status, 200);
    assert.equal((await fetch(`${hub.httpUrl}/api/ready`)).status, 200);
    const tenant = await new Admin(hub.adminUrl).provision('bundled');
    const a = await connectAgent(hub.wsUrl, tenant.key, 'a');
    let got!: ReturnType<typeof collectDms>;
    const b = await connectAgent(hub.wsUrl, tenant.key, 'b', { onCreate: (c) => (got = collectDms(c)) });
    await a.sendDm(b.identity.agentId, 'through the bundle');
    await eventually(() => assert.deepEqual(got.bodies, ['through the bundle']));
    assert.match(await (await fetch(`${hub.adminUrl}/metrics`)).text(), /^hub_connected_agents\{[^}]*\} 2$/m);
    a.close();
    b.close();
    assert.equal(await hub.terminate(), 0);
  });

  it('has a multi-stage Dockerfile: bundle build, non-root runtime, health check, configurable base image', () => {
    const dockerfile = readFileSync(join(repoRoot, 'src/hub/Dockerfile'), 'utf8');
    const instructions = dockerfile.split('\n').filter((l) => /^[A-Z]+ /.test(l));
    assert.match(
      dockerfile,
      new RegExp(`^ARG BASE_IMAGE=node:${toolVersions.NODE_VERSION!.replaceAll('.', '\\.')}-bookworm-slim$`, 'm'),
      'ARG BASE_IMAGE defaults to the slim image of the Node the toolchain pins',
    );
    assert.ok(dockerfile.indexOf('ARG BASE_IMAGE') < dockerfile.indexOf('FROM '), 'the ARG precedes the first FROM');
    assert.deepEqual(
      instructions.filter((l) => l.startsWith('FROM ')),
      ['FROM ${BASE_IMAGE} AS build', 'FROM ${BASE_IMAGE} AS runtime'],
    );
    assert.match(dockerfile, /^RUN npx tsx src\/hub\/build\.ts \/out$/m);
    assert.match(dockerfile, /^COPY --from=build .*\/out\/ \/app\/$/m);
    const user = /^USER (\d+):(\d+)$/m.exec(dockerfile);
    assert.ok(user && Number(user[1]) >= 10_000 && Number(user[2]) >= 10_000, 'runs as uid/gid >= 10000');
    assert.ok(dockerfile.lastIndexOf('USER ') > dockerfile.lastIndexOf('FROM '), 'USER applies to the runtime stage');
    assert.match(dockerfile, /^HEALTHCHECK .*\n\s+CMD .*\/api\/health/m);
    assert.match(dockerfile, /^ENTRYPOINT \["node", "\/app\/hub\.mjs"\]$/m);
    assert.match(
      dockerfile,
      /HUB_DATA_DIR=\/tmp\//,
      'the only writable path is under /tmp (read-only root filesystem)',
    );
    assert.doesNotMatch(dockerfile, /:latest\b/);
  });
});
