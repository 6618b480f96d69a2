/*
 * The buckets WAL and base backups go to, set up through the S3 API so that neither a bad command
 * nor a stolen key can erase the archive before its retention ends:
 *
 * - created with object lock (Hetzner, like S3, enables it only at creation), versioning on;
 * - a default retention of the environment's `backup.retentionDays` in COMPLIANCE mode: nobody, the
 *   bucket owner included, can delete or overwrite a locked version early. GOVERNANCE would let any
 *   key with the bypass permission do it, and Hetzner's keys are project-wide, so it would protect
 *   against nothing but mistakes. Barman's own deletes (its retention policy) leave delete markers;
 *   the versions stay until their lock ends;
 * - a lifecycle rule removing versions `retentionDays` after they stopped being current.
 *
 * Encryption: Hetzner Object Storage offers SSE-C only (the client sends a key with every request),
 * no bucket default encryption, SSE-S3 or SSE-KMS, and barman-cloud sends no SSE-C key. So the kit
 * cannot turn encryption at rest on for the archive; traffic to the endpoint is TLS.
 */
import {
  BucketAlreadyOwnedByYou,
  CreateBucketCommand,
  GetBucketVersioningCommand,
  GetObjectLockConfigurationCommand,
  HeadBucketCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectLockConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { regionBackupStore, type Environment } from '../../environments/index.ts';

export const LOCK_MODE = 'COMPLIANCE';

export const ENCRYPTION_NOTE =
  'encryption at rest: Hetzner Object Storage offers only SSE-C (a key sent with each request); barman-cloud sends none, so the archive is not encrypted by the provider at the kit’s request. In transit: TLS.';

/** One bucket an environment archives to. */
export interface BackupBucket {
  readonly bucket: string;
  readonly endpoint: string;
  /** S3 signing region (Hetzner: the location). */
  readonly s3Region: string;
  readonly retentionDays: number;
  /** Who writes it: a region (tiers 2-3) or the environment (tiers 0-1). */
  readonly writer: string;
}

/** Tiers 2-3: a bucket per region, off-site; tiers 0-1 and laptops: `backup.bucket` at `backup.endpoint`. */
export function backupBuckets(env: Environment): BackupBucket[] {
  if (env.platform === 'hetzner' && env.tier >= 2) {
    return env.regions.map((region) => {
      const store = regionBackupStore(env, region);
      return {
        bucket: store.bucket,
        endpoint: store.endpoint,
        s3Region: store.s3Region,
        retentionDays: store.retentionDays,
        writer: `${env.name}/${region.name}`,
      };
    });
  }
  const { bucket, endpoint, region, retentionDays } = env.backup;
  return [{ bucket, endpoint, s3Region: region, retentionDays, writer: env.name }];
}

export interface StepResult {
  readonly step: 'bucket' | 'versioning' | 'object lock' | 'lifecycle';
  readonly ok: boolean;
  readonly detail: string;
}

const errorName = (err: unknown) => (err as { name?: string }).name ?? 'Error';
const failed = (step: StepResult['step'], err: unknown): StepResult => ({
  step,
  ok: false,
  detail: `${errorName(err)}: ${(err as Error).message}`,
});

/**
 * Creates the bucket with object lock if it is missing, then sets versioning, the default retention
 * and the lifecycle rule; every step is idempotent and reported. A bucket that exists without
 * object lock is refused: it cannot be turned on afterwards.
 */
export async function ensureBackupBucket(client: S3Client, b: BackupBucket): Promise<StepResult[]> {
  const Bucket = b.bucket;
  const results: StepResult[] = [];
  try {
    results.push({ step: 'bucket', ok: true, detail: await createWithObjectLock(client, Bucket) });
  } catch (err) {
    return [failed('bucket', err)];
  }
  try {
    await client.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    const { Status } = await client.send(new GetBucketVersioningCommand({ Bucket }));
    if (Status !== 'Enabled') throw new Error(`versioning reads back as ${Status ?? 'never enabled'}`);
    results.push({ step: 'versioning', ok: true, detail: 'Enabled' });
  } catch (err) {
    results.push(failed('versioning', err));
  }
  try {
    await client.send(
      new PutObjectLockConfigurationCommand({
        Bucket,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: LOCK_MODE, Days: b.retentionDays } },
        },
      }),
    );
    const { ObjectLockConfiguration: lock } = await client.send(new GetObjectLockConfigurationCommand({ Bucket }));
    const retention = lock?.Rule?.DefaultRetention;
    if (retention?.Mode !== LOCK_MODE || retention.Days !== b.retentionDays) {
      throw new Error(`default retention reads back as ${JSON.stringify(retention ?? null)}`);
    }
    results.push({ step: 'object lock', ok: true, detail: `${LOCK_MODE}, ${b.retentionDays} days by default` });
  } catch (err) {
    results.push(failed('object lock', err));
  }
  try {
    await client.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket,
        LifecycleConfiguration: {
          Rules: [
            {
              ID: 'expire-noncurrent-versions',
              Status: 'Enabled',
              Filter: { Prefix: '' },
              NoncurrentVersionExpiration: { NoncurrentDays: b.retentionDays },
            },
          ],
        },
      }),
    );
    results.push({ step: 'lifecycle', ok: true, detail: `noncurrent versions expire after ${b.retentionDays} days` });
  } catch (err) {
    results.push(failed('lifecycle', err));
  }
  return results;
}

async function createWithObjectLock(client: S3Client, Bucket: string): Promise<string> {
  const exists = await client.send(new HeadBucketCommand({ Bucket })).then(
    () => true,
    (err: unknown) => {
      if (errorName(err) === 'NotFound') return false;
      throw err;
    },
  );
  if (!exists) {
    try {
      await client.send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: true }));
      return 'created with object lock';
    } catch (err) {
      if (!(err instanceof BucketAlreadyOwnedByYou)) throw err;
    }
  }
  const lock = await client.send(new GetObjectLockConfigurationCommand({ Bucket })).then(
    (r) => r.ObjectLockConfiguration?.ObjectLockEnabled,
    (err: unknown) => {
      if (errorName(err) === 'ObjectLockConfigurationNotFoundError') return undefined;
      throw err;
    },
  );
  if (lock !== 'Enabled') {
    throw new Error(
      `bucket ${Bucket} exists without object lock, which S3 enables only at creation: archive to a new bucket (backup.bucket) instead`,
    );
  }
  return 'exists, object lock enabled';
}
