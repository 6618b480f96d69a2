/*
 * A standby region's hubs, on a replica cluster that is still in recovery, must stay up and report
 * not ready (they take no agents and run no migrations), then become Ready by themselves once the
 * database is promoted: that is what lets Cloudflare move traffic to the region with no other step.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kubectl } from './kubectl.ts';

interface PodList {
  items: {
    metadata: { name: string };
    status: {
      phase: string;
      podIP?: string;
      containerStatuses?: {
        ready: boolean;
        started?: boolean;
        restartCount: number;
        lastState?: { terminated?: { reason?: string; exitCode?: number } };
      }[];
    };
  }[];
}

const POLL_MS = 2_000;

/** Waits for `count` hub pods that run, passed their startup probe and are not ready; returns their addresses. */
export async function waitForStandbyHubs(
  kubectl: Kubectl,
  namespace: string,
  selector: string,
  count: number,
  timeoutMs: number,
): Promise<string[]> {
  const started = Date.now();
  for (;;) {
    const pods = (await kubectl.json<PodList>(['-n', namespace, 'get', 'pods', '-l', selector])).items;
    const restarted = pods.find((p) => (p.status.containerStatuses ?? []).some((c) => c.restartCount > 0));
    if (restarted) {
      const last = restarted.status.containerStatuses!.find((c) => c.restartCount > 0)!.lastState?.terminated;
      throw new Error(
        `pod ${restarted.metadata.name} restarted on the standby database (last exit ${last?.exitCode ?? '?'} ${last?.reason ?? ''}): a standby hub must stay up`,
      );
    }
    const waiting = pods.filter(
      (p) => p.status.phase === 'Running' && (p.status.containerStatuses ?? []).every((c) => c.started && !c.ready),
    );
    const ready = pods.filter((p) => (p.status.containerStatuses ?? []).some((c) => c.ready));
    if (ready.length > 0) throw new Error(`pod ${ready[0]!.metadata.name} is Ready while its database is in recovery`);
    if (waiting.length >= count) return waiting.map((p) => p.status.podIP!);
    if (Date.now() - started > timeoutMs) {
      throw new Error(`${waiting.length} of ${count} standby hub pods started within ${timeoutMs / 1000} s`);
    }
    await sleep(POLL_MS);
  }
}

/** What a standby hub answers on /api/ready: must be 503 with a reason naming the recovery. */
export async function standbyReadyAnswer(address: string): Promise<string> {
  const response = await fetch(`http://${address}/api/ready`, { signal: AbortSignal.timeout(5_000) });
  const body = await response.text();
  if (response.status !== 503 || !/recovery/i.test(body)) {
    throw new Error(
      `${address}/api/ready answered ${response.status} ${body}: expected 503 naming the database's recovery`,
    );
  }
  return body;
}

/** Promotes the stand-in's Postgres, as a switchover promotes the replica cluster. */
export async function promote(kubectl: Kubectl, namespace: string, statefulSet: string): Promise<void> {
  const answer = await kubectl.run([
    '-n',
    namespace,
    'exec',
    `${statefulSet}-0`,
    '-c',
    'postgres',
    '--',
    'psql',
    '-U',
    'postgres',
    '-tAc',
    'SELECT pg_promote()',
  ]);
  if (answer.trim() !== 't') throw new Error(`pg_promote() answered ${answer.trim()}`);
}
