/*
 * What k8s:verify proves once the workloads are Ready: the hub answers a WebSocket round trip through
 * its Service, and two agents on two different hub pods see each other's presence and DMs, which
 * only works when the pods share Valkey and Postgres.
 */
import { randomUUID } from 'node:crypto';
import { NAMESPACES } from '../../charts/clusters.ts';
import { HubClient } from '../../src/hub/client/client.ts';
import type { PresenceEvent } from '../../src/hub/client/types.ts';
import { withTimeout } from '../../src/hub/db/database.ts';
import { provisionTenant, type Tenancy } from '../../runbooks/lib/hub-process.ts';
import type { Kubectl } from './kubectl.ts';

export interface HubEndpoints {
  /** `host:port` of the public listener (a Service ClusterIP or a pod address). */
  readonly publicAddress: string;
  readonly adminAddress: string;
}

const PROOF_TIMEOUT_MS = 20_000;

/** The hub Service's ClusterIP with its public and admin ports, reachable from the test cluster's host. */
export async function hubService(kubectl: Kubectl): Promise<HubEndpoints & { readonly publicPort: number }> {
  const service = await kubectl.json<{ spec: { clusterIP: string; ports: { name: string; port: number }[] } }>([
    '-n',
    NAMESPACES.hub,
    'get',
    'service',
    'hub',
  ]);
  const port = (name: string) => service.spec.ports.find((p) => p.name === name)!.port;
  return {
    publicAddress: `${service.spec.clusterIP}:${port('http')}`,
    adminAddress: `${service.spec.clusterIP}:${port('admin')}`,
    publicPort: port('http'),
  };
}

async function connected(urls: readonly string[], apiKey: string, name: string): Promise<HubClient> {
  const client = new HubClient({
    urls: [...urls],
    apiKey,
    agent: { name },
    maxReconnectAttempts: 1,
    requestTimeoutMs: 10_000,
  });
  await withTimeout(client.connect(), PROOF_TIMEOUT_MS, `agent ${name} connecting to ${urls.join(', ')}`);
  return client;
}

export async function provisionThrough(service: HubEndpoints, adminToken: string): Promise<Tenancy> {
  return provisionTenant(`http://${service.adminAddress}`, adminToken, `k8s-verify-${randomUUID().slice(0, 8)}`);
}

/** One agent sends a DM to another, both through the Service; returns the round trip in ms. */
export async function serviceRoundTrip(service: HubEndpoints, apiKey: string): Promise<number> {
  const url = `ws://${service.publicAddress}/ws`;
  const [a, b] = [await connected([url], apiKey, 'verify-a'), await connected([url], apiKey, 'verify-b')];
  try {
    const started = performance.now();
    const received = new Promise<void>((resolve) => b.on('dm', () => resolve()));
    await a.sendDm(b.identity.agentId, { probe: 'round-trip' });
    await withTimeout(received, PROOF_TIMEOUT_MS, 'the DM through the Service');
    return performance.now() - started;
  } finally {
    a.close();
    b.close();
  }
}

/**
 * Agents on two pods: the second sees the first join and receives its DM, which travel through
 * Valkey and Postgres. Returns the two replicas' ids, which must differ.
 */
export async function acrossPods(pods: readonly [string, string], apiKey: string): Promise<[string, string]> {
  const [first, second] = pods.map((address) => `ws://${address}/ws`);
  const listener = await connected([second!], apiKey, 'verify-listener');
  try {
    const joined = new Promise<string>((resolve) =>
      listener.on('event', (name, payload) => {
        const joined = name === 'presence.changed' ? (payload as PresenceEvent).joined : [];
        const found = joined.find((member) => member.name === 'verify-speaker');
        if (found !== undefined) resolve(found.agentId);
      }),
    );
    const speaker = await connected([first!], apiKey, 'verify-speaker');
    try {
      const replicas: [string, string] = [speaker.identity.replicaId, listener.identity.replicaId];
      if (replicas[0] === replicas[1]) throw new Error(`both agents landed on replica ${replicas[0]}: give two pods`);
      const seen = await withTimeout(joined, PROOF_TIMEOUT_MS, 'presence across pods');
      if (seen !== speaker.identity.agentId)
        throw new Error(`presence named ${seen}, expected ${speaker.identity.agentId}`);
      const dm = new Promise<void>((resolve) => listener.on('dm', () => resolve()));
      await speaker.sendDm(listener.identity.agentId, { probe: 'across-pods' });
      await withTimeout(dm, PROOF_TIMEOUT_MS, 'a DM across pods');
      return replicas;
    } finally {
      speaker.close();
    }
  } finally {
    listener.close();
  }
}
