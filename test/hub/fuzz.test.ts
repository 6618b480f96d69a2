/*
 * Hostile input: well over 1,000 malformed or adversarial frames from several connections, some
 * authenticated and some not, while two well-behaved agents exchange direct messages. The hub must
 * answer or close the offending socket, keep serving the others, lose none of their messages and
 * never fail internally. Frames come from a seeded generator so a failure reproduces.
 */
import { limitsLifted } from '../../src/hub/config.ts';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { Hub } from '../../src/hub/hub.ts';
import {
  Admin,
  closeAllClients,
  collectDms,
  connectAgent,
  eventually,
  MODES,
  startBacking,
  startTestHub,
  type Backing,
} from './helpers/hub-harness.ts';
import { hostileFrames } from '../../src/hub/fuzz/frames.ts';
import { prng } from '../../src/hub/fuzz/prng.ts';

const FRAMES_PER_MODE = 1_200;
const FUZZ_CONNECTIONS = 4;

for (const mode of MODES) {
  describe(`fuzzing the protocol (${mode})`, () => {
    let backing: Backing;
    let hub: Hub;
    let tenant: { tenantId: string; fleetId: string; key: string };

    before(async () => {
      backing = await startBacking(mode);
      hub = await startTestHub(backing, limitsLifted());
      tenant = await new Admin(hub.adminUrl).provision('fuzz');
    });

    after(async () => {
      closeAllClients();
      await hub?.shutdown('test finished');
      await backing?.stop();
    });

    it(`survives ${FRAMES_PER_MODE} hostile frames while other agents lose nothing`, async (t) => {
      const sender = await connectAgent(hub.wsUrl, tenant.key, 'steady-sender');
      let received!: ReturnType<typeof collectDms>;
      const receiver = await connectAgent(hub.wsUrl, tenant.key, 'steady-receiver', {
        onCreate: (c) => (received = collectDms(c)),
      });
      const random = prng(mode === 'embedded' ? 1 : 2);
      const nextFrame = hostileFrames(random, [sender.identity.agentId, receiver.identity.agentId]);

      // Steady traffic for as long as the fuzzing lasts.
      let fuzzing = true;
      const sent: number[] = [];
      const steady = (async () => {
        for (let i = 0; (fuzzing || i < 50) && i < 5_000; i++) {
          const receipt = await sender.sendDm(receiver.identity.agentId, { i });
          sent.push(receipt.seq);
          await new Promise((r) => setTimeout(r, 5));
        }
      })();

      let framesSent = 0;
      let closes = 0;
      let answeredOnOpenSockets = 0;
      const closeCodes = new Set<number>();
      const fuzzer = async (authenticated: boolean) => {
        for (let reconnects = 0; framesSent < FRAMES_PER_MODE && reconnects < 500; reconnects++) {
          const ws = new WebSocket(hub.wsUrl, { maxPayload: 16 * 1024 * 1024 });
          let sentHere = 0;
          let repliesHere = 0;
          ws.on('message', (data) => {
            if ((JSON.parse(data.toString()) as { type: string }).type === 'reply') repliesHere++;
          });
          ws.on('error', () => undefined);
          let closedByHub = false;
          const closed = new Promise<void>((resolve) =>
            ws.once('close', (code) => {
              if (closedByHub) closeCodes.add(code);
              resolve();
            }),
          );
          await new Promise<void>((resolve) => {
            ws.once('open', () => resolve());
            ws.once('close', () => resolve());
          });
          if (ws.readyState !== WebSocket.OPEN) continue;
          if (authenticated) {
            const name = `fuzz-${random().toString(36).slice(2, 8)}`;
            ws.send(JSON.stringify({ type: 'hello', id: 'hello', payload: { apiKey: tenant.key, agent: { name } } }));
            sentHere++;
          }
          for (let i = 0; i < 20 && framesSent < FRAMES_PER_MODE && ws.readyState === WebSocket.OPEN; i++) {
            const frame = nextFrame();
            ws.send(frame, { binary: Buffer.isBuffer(frame) });
            framesSent++;
            sentHere++;
          }
          // Every frame gets exactly one reply unless the hub closes the socket (bad hello, oversize, bad UTF-8).
          for (
            let waited = 0;
            waited < 10_000 && repliesHere < sentHere && ws.readyState === WebSocket.OPEN;
            waited += 10
          ) {
            await new Promise((r) => setTimeout(r, 10));
          }
          if (ws.readyState === WebSocket.OPEN) {
            assert.equal(repliesHere, sentHere, 'a frame on an open socket went unanswered');
            answeredOnOpenSockets += sentHere;
            ws.close();
          } else {
            closedByHub = true;
          }
          if (closedByHub) closes++;
          await closed;
        }
      };
      await Promise.all(Array.from({ length: FUZZ_CONNECTIONS }, (_, i) => fuzzer(i % 2 === 0)));
      fuzzing = false;
      await steady;

      t.diagnostic(
        `${framesSent} hostile frames; ${answeredOnOpenSockets} answered one by one on sockets that stayed open, ` +
          `${closes} sockets closed by the hub; ${sent.length} steady DMs meanwhile`,
      );
      assert.ok(framesSent >= 1_000);
      // Only a bad API key (4001), invalid UTF-8 (1007) or a frame beyond the hard cap (1009) end a socket.
      assert.deepEqual(
        [...closeCodes].filter((c) => ![4001, 1007, 1009].includes(c)),
        [],
      );
      assert.ok(
        answeredOnOpenSockets > framesSent / 2,
        `only ${answeredOnOpenSockets} frames answered on open sockets`,
      );

      // Nothing the steady agents sent was lost, duplicated or reordered.
      await eventually(() => assert.equal(received.seqs.length, sent.length), 10_000);
      assert.deepEqual(received.seqs, sent);
      assert.deepEqual(
        received.bodies,
        sent.map((_, i) => ({ i })),
      );

      // The hub still serves: health, new connections, and no request ever failed internally.
      assert.equal((await fetch(`${hub.httpUrl}/api/health`)).status, 200);
      const late = await connectAgent(hub.wsUrl, tenant.key, 'late-joiner');
      assert.ok((await late.request<any>('presence.roster')).agents.length >= 3);
      const metrics = await (await fetch(`${hub.adminUrl}/metrics`)).text();
      assert.doesNotMatch(metrics, /hub_protocol_errors_total\{[^}]*code="internal"[^}]*\} [1-9]/);
      assert.match(metrics, /hub_protocol_errors_total\{[^}]*code="invalid_frame"[^}]*\} [1-9]/);
      // The hub runs in this process: prototype pollution would show here.
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });
  });
}
