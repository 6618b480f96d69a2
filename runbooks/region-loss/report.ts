/* What the region-loss drill reports, and the objectives it holds itself to. */
import type { Environment } from '../../environments/index.ts';
import type { EventFigures } from '../failover/load.ts';
import { resolveObjectives, type ObjectiveResult, type Objectives } from '../lib/objectives.ts';
import type { DrillReportHeader } from '../lib/report.ts';
import type { MarkRecord, PhaseRecord } from '../lib/timeline.ts';
import type { Verification } from '../lib/verify.ts';
import type { ArchivedObject } from './watchers.ts';

/**
 * With streaming replication a region loss costs the replication lag, not archive_timeout: the
 * drill holds the RPO to this, or to the environment's objective when that is tighter.
 */
export const STREAMING_RPO_SECONDS = 5;
/** A standby region that turns ready by itself owes no more than this after the promotion decision. */
export const REGION_RTO_SECONDS = 60;

export function regionLossObjectives(
  env: Environment,
  overrides: { rpoSeconds?: number; rtoSeconds?: number } = {},
): Objectives {
  const fromEnv = resolveObjectives(env, overrides);
  const rpoSeconds = overrides.rpoSeconds ?? Math.min(fromEnv.rpoSeconds, STREAMING_RPO_SECONDS);
  const rtoSeconds = overrides.rtoSeconds ?? Math.min(fromEnv.rtoSeconds, REGION_RTO_SECONDS);
  const capped = rpoSeconds !== fromEnv.rpoSeconds || rtoSeconds !== fromEnv.rtoSeconds;
  return {
    rpoSeconds,
    rtoSeconds,
    source: capped
      ? `${fromEnv.source}, held to at most RPO ${STREAMING_RPO_SECONDS} s (streaming) and RTO ${REGION_RTO_SECONDS} s for a region loss`
      : fromEnv.source,
  };
}

export type RegionLossEvent = 'steady' | 'region-loss' | 'return';

export interface RegionLossFigures {
  /** Last acknowledged write in the old region minus the last one the promoted region has. */
  readonly rpoSeconds?: number;
  /** Acknowledged in the old region, missing after the promotion (beyond the recovery point). */
  readonly lostAcknowledgedWrites?: number;
  /** Loss → first write acknowledged in the new region. */
  readonly rtoSeconds?: number;
  /** How long the load balancer had no ready hub. */
  readonly unreadySeconds?: number;
  /** Loss → pg_promote() called: how long the drill took to see the region gone. */
  readonly detectSeconds?: number;
  readonly promoteSeconds?: number;
  /** The standby's last replayed commit before promotion. */
  readonly lastReplayedCommit?: string;
  /** WAL files the standby replayed from region 1's archive (it also streamed). */
  readonly walRestoredFromArchive?: number;
  /** Region 2's hubs answered /api/ready 503 while their database was a standby. */
  readonly standbyHubsNotReady?: boolean;
  /** First object the promoted region archived to its own bucket, and seconds after promotion. */
  readonly firstArchivedObject?: ArchivedObject & { readonly secondsAfterPromotion: number };
  /** First full WAL segment of the new timeline in the promoted region's bucket. */
  readonly firstArchivedSegment?: ArchivedObject & { readonly secondsAfterPromotion: number };
  /** The lost region back: its Postgres in recovery and refusing writes, its hubs not ready. */
  readonly oldPrimaryFenced?: {
    readonly inRecovery: boolean;
    readonly writeRefused: boolean;
    readonly hubsNotReady: boolean;
  };
}

export interface RegionLossReport extends DrillReportHeader<'region-loss', 'local'> {
  readonly settings: {
    readonly regions: readonly { readonly name: string; readonly bucket: string; readonly role: string }[];
    readonly hubsPerRegion: number;
    readonly agents: number;
    readonly loadSeconds: number;
    readonly archiveTimeoutSeconds: number;
    readonly replication: string;
    readonly redis: string;
    readonly loadBalancer: string;
  };
  readonly objectives: Objectives;
  readonly results: readonly ObjectiveResult[];
  readonly figures: RegionLossFigures;
  /** The old region's acknowledged writes checked in the promoted region. */
  readonly verification?: Verification;
  /** The agents' DMs, broadcasts and reconnects before the loss, after it, and with the old region back. */
  readonly events: readonly EventFigures[];
  readonly notes: readonly string[];
  readonly timeline: {
    readonly startMs: number;
    readonly phases: readonly PhaseRecord[];
    readonly marks: readonly MarkRecord[];
  };
}
