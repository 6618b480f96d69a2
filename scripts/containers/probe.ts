/*
 * Checks a running hub from outside, as an operator would: /api/health, /api/ready (waited for),
 * then a tenant, two agents and a direct message over the WebSocket. Run as its own process so a
 * TLS check can trust the proxy's self-signed certificate through NODE_EXTRA_CA_CERTS.
 * Usage: tsx scripts/containers/probe.ts <base URL>   (HUB_ADMIN_TOKEN in the environment)
 * Prints one JSON line with the results; exits non-zero with the reason on failure.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HubClient } from '../../src/hub/client/client.ts';

const READY_TIMEOUT_SECONDS = 90;

export interface ProbeResult {
  readonly health: number;
  readonly ready: number;
  readonly readySeconds: number;
  readonly dmRoundTripMs: number;
}

async function status(url: string): Promise<number> {
  return fetch(url, { signal: AbortSignal.timeout(5_000) }).then(
    (r) => r.status,
    () => 0,
  );
}

async function admin(base: string, token: string, path: string, body: unknown): Promise<{ id: string; key?: string }> {
  const response = await fetch(`${base}/api/admin${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (response.status !== 201) throw new Error(`POST /api/admin${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as { id: string; key?: string };
}

export async function probe(base: string, token: string): Promise<ProbeResult> {
  const started = Date.now();
  let ready = 0;
  while (Date.now() - started < READY_TIMEOUT_SECONDS * 1000) {
    ready = await status(`${base}/api/ready`);
    if (ready === 200) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  if (ready !== 200) throw new Error(`${base}/api/ready: ${ready || 'no answer'} after ${READY_TIMEOUT_SECONDS}s`);
  const readySeconds = (Date.now() - started) / 1000;
  const health = await status(`${base}/api/health`);
  if (health !== 200) throw new Error(`${base}/api/health: ${health || 'no answer'}`);

  const tenant = await admin(base, token, '/tenants', { name: `probe-${Date.now()}` });
  const fleet = await admin(base, token, `/tenants/${tenant.id}/fleets`, { name: 'default' });
  const { key } = await admin(base, token, `/tenants/${tenant.id}/fleets/${fleet.id}/api-keys`, {});
  const wsUrl = `${base.replace(/^http/, 'ws')}/ws`;
  const connect = (name: string) =>
    new HubClient({ urls: [wsUrl], apiKey: key!, agent: { name }, maxReconnectAttempts: 3, requestTimeoutMs: 5_000 });
  const sender = connect('probe-sender');
  const receiver = connect('probe-receiver');
  try {
    const received = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the direct message did not arrive within 10s')), 10_000);
      receiver.on('dm', (message: { body: unknown }) => {
        if (message.body !== 'probe') return;
        clearTimeout(timer);
        resolve(Date.now());
      });
    });
    await Promise.all([sender.connect(), receiver.connect()]);
    const sent = Date.now();
    await sender.sendDm(receiver.identity.agentId, 'probe');
    return { health, ready, readySeconds, dmRoundTripMs: (await received) - sent };
  } finally {
    sender.close();
    receiver.close();
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [base] = process.argv.slice(2);
  const token = process.env.HUB_ADMIN_TOKEN;
  if (base === undefined || token === undefined) {
    console.error('usage: HUB_ADMIN_TOKEN=... tsx scripts/containers/probe.ts <base URL>');
    process.exit(2);
  }
  try {
    console.log(JSON.stringify(await probe(base, token)));
  } catch (error) {
    console.error(`probe ${base}: ${(error as Error).message}`);
    process.exit(1);
  }
}
