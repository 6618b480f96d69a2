import { initial } from './0001_initial.ts';
import { abuseLimits } from './0002_abuse_limits.ts';
import { dmTimeline } from './0003_dm_timeline.ts';
import { walHeartbeat } from './0004_wal_heartbeat.ts';
import { dmSend } from './0005_dm_send.ts';
import type { Migration } from './migration.ts';

/*
 * Migrations are TypeScript modules rather than .sql files so that the bundled image carries them
 * inside its single file.
 */
export const migrations: readonly Migration[] = [initial, abuseLimits, dmTimeline, walHeartbeat, dmSend];
