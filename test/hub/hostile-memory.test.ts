/*
 * Memory amplification against a hub process on real Postgres and Redis: clients that pipeline
 * hundreds of reads of a 1 MB value and never read the replies. The hub's resident memory must stay
 * within a bound that does not grow with what the clients ask for.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Admin, ADMIN_TOKEN, startBacking, type Backing } from './helpers/hub-harness.ts';
import { startHubProcess, TSX_HUB, type HubProcess } from './helpers/hub-process.ts';
import { helloRaw, type RawSession } from './helpers/raw-ws.ts';

const SESSIONS = 6;
const READS_EACH = 250;
const VALUE_BYTES = 1_000_000;
/**
 * Measured on this 2-core machine: about 80 MiB (garbage of the reads it did answer, before the
 * collector runs) with backpressure; 365 MiB without it, where each session buffered up to 32 MB.
 */
const GROWTH_BOUND_MIB = 150;

const rssMiB = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

describe('memory amplification (hub process, server)', () => {
  let backing: Backing;
  let hub: HubProcess;

  before(async () => {
    backing = await startBacking('server');
    hub = await startHubProcess(TSX_HUB, { ...backing.env, HUB_ADMIN_TOKEN: ADMIN_TOKEN });
  });

  after(async () => {
    await hub?.terminate();
    await backing?.stop();
  });

  it(`holds ${SESSIONS} clients × ${READS_EACH} unread 1 MB replies within ${GROWTH_BOUND_MIB} MiB`, async (t) => {
    const tenant = await new Admin(hub.adminUrl).provision('amplified');
    const sessions: RawSession[] = [];
    for (let i = 0; i < SESSIONS; i++) {
      const { session, hello } = await helloRaw(hub.wsUrl, tenant.key, `reader-${i}`);
      assert.equal(hello.ok, true);
      sessions.push(session);
    }
    const set = await sessions[0]!.request('memory.set', { key: 'big', value: 'x'.repeat(VALUE_BYTES) });
    assert.equal(set.ok, true);
    const baseline = rssMiB(hub.child.pid!);

    // given clients that stop reading and ask for 1.5 GB of replies between them
    for (const session of sessions) {
      session.ws.pause();
      for (let i = 0; i < READS_EACH; i++) session.send({ type: 'memory.get', id: `g${i}`, payload: { key: 'big' } });
    }
    let peak = baseline;
    for (let waited = 0; waited < 5_000; waited += 100) {
      await new Promise((r) => setTimeout(r, 100));
      peak = Math.max(peak, rssMiB(hub.child.pid!));
    }
    for (const session of sessions) session.ws.terminate();

    // then the hub held back instead of buffering, and still serves
    t.diagnostic(`hub RSS ${baseline.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB at the peak`);
    assert.ok(peak - baseline <= GROWTH_BOUND_MIB, `RSS grew by ${(peak - baseline).toFixed(0)} MiB`);
    assert.equal(hub.child.exitCode, null);
    assert.equal((await fetch(`${hub.httpUrl}/api/ready`)).status, 200);
  });
});
