/*
 * Checks a running hub from outside, as an operator would. On the public address (the hub's public
 * port, or the TLS proxy in front of it): /api/health, /api/ready (waited for), and a 404 for
 * /metrics, the admin API and any other path. On the operations address: /metrics and the admin
 * API, which makes a tenant and a key; then two agents exchange a direct message over the public
 * WebSocket. Run as its own process so a TLS check can trust the proxy's self-signed certificate
 * through NODE_EXTRA_CA_CERTS.
 * Usage: tsx scripts/containers/probe.ts <public base URL> <operations base URL>   (HUB_ADMIN_TOKEN in the environment)
 * Prints one JSON line with the results; exits non-zero with the reason on failure.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HubClient } from '../../src/hub/client/client.ts';

const READY_TIMEOUT_SECONDS = 90;

/** Requests the public address must answer with 404: the operations routes and anything else. */
const NOT_PUBLIC: readonly { readonly method: string; readonly path: string }[] = [
  { method: 'GET', path: '/metrics' },
  { method: 'GET', path: '/api/admin/tenants' },
  { method: 'POST', path: '/api/admin/tenants' },
  { method: 'GET', path: '/' },
];

export interface ProbeResult {
  readonly health: number;
  readonly ready: number;
  readonly readySeconds: number;
  /** Status of GET /metrics on the operations address. */
  readonly metrics: number;
  /** Status of each NOT_PUBLIC request on the public address, e.g. `{ 'GET /metrics': 404 }`. */
  readonly notPublic: Readonly<Record<string, number>>;
  readonly dmRoundTripMs: number;
}

async function status(url: string, method = 'GET'): Promise<number> {
  return fetch(url, { method, signal: AbortSignal.timeout(5_000) }).then(
    async (r) => {
      await r.body?.cancel();
      return r.status;
    },
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

async function metricsText(base: string): Promise<string> {
  const response = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5_000) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${base}/metrics: ${response.status} ${text.slice(0, 200)}`);
  if (!text.includes('hub_connected_agents')) throw new Error(`${base}/metrics: no hub_connected_agents in the answer`);
  return text;
}

export async function probe(base: string, operations: string, token: string): Promise<ProbeResult> {
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

  const notPublic: Record<string, number> = {};
  for (const { method, path } of NOT_PUBLIC) {
    const answer = await status(`${base}${path}`, method);
    notPublic[`${method} ${path}`] = answer;
    if (answer !== 404)
      throw new Error(`${method} ${base}${path}: ${answer || 'no answer'}, expected 404 on the public address`);
  }
  await metricsText(operations);
  const operationsHealth = await status(`${operations}/api/health`);
  if (operationsHealth !== 200) throw new Error(`${operations}/api/health: ${operationsHealth || 'no answer'}`);

  const tenant = await admin(operations, token, '/tenants', { name: `probe-${Date.now()}` });
  const fleet = await admin(operations, token, `/tenants/${tenant.id}/fleets`, { name: 'default' });
  const { key } = await admin(operations, token, `/tenants/${tenant.id}/fleets/${fleet.id}/api-keys`, {});
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
    const dmRoundTripMs = (await received) - sent;
    // The agents' traffic shows in the operations listener's metrics.
    if (!/^hub_messages_total\{[^}]*\} [1-9]/m.test(await metricsText(operations))) {
      throw new Error(`${operations}/metrics: hub_messages_total did not count the direct message`);
    }
    return { health, ready, readySeconds, metrics: 200, notPublic, dmRoundTripMs };
  } finally {
    sender.close();
    receiver.close();
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [base, operations] = process.argv.slice(2);
  const token = process.env.HUB_ADMIN_TOKEN;
  if (base === undefined || operations === undefined || token === undefined) {
    console.error('usage: HUB_ADMIN_TOKEN=... tsx scripts/containers/probe.ts <public base URL> <operations base URL>');
    process.exit(2);
  }
  try {
    console.log(JSON.stringify(await probe(base, operations, token)));
  } catch (error) {
    console.error(`probe ${base}: ${(error as Error).message}`);
    process.exit(1);
  }
}
