import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectLockConfigurationCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { loadEnvironment } from '../../environments/index.ts';
import { backupBuckets, ensureBackupBucket, LOCK_MODE, type BackupBucket } from '../../scripts/lib/backup-buckets.ts';
import { startObjectStore, type LocalObjectStore } from '../../scripts/lib/local-services.ts';
import { repoRoot } from '../../scripts/lib/tools.ts';

describe('the buckets each environment archives to', () => {
  test('prod: one bucket per region, both in Nuremberg, kept 35 days; staging off-site in Falkenstein, 30', () => {
    assert.deepEqual(backupBuckets(loadEnvironment('prod')), [
      {
        bucket: 'ringforge-prod-backups-fsn1',
        endpoint: 'https://nbg1.your-objectstorage.com',
        s3Region: 'nbg1',
        retentionDays: 35,
        writer: 'prod/fsn1',
      },
      {
        bucket: 'ringforge-prod-backups-hel1',
        endpoint: 'https://nbg1.your-objectstorage.com',
        s3Region: 'nbg1',
        retentionDays: 35,
        writer: 'prod/hel1',
      },
    ]);
    const [staging] = backupBuckets(loadEnvironment('staging'));
    assert.deepEqual(
      [staging!.bucket, staging!.endpoint, staging!.retentionDays],
      ['ringforge-staging-backups-nbg1', 'https://fsn1.your-objectstorage.com', 30],
    );
    assert.deepEqual(
      backupBuckets(loadEnvironment('dev')).map((b) => [b.bucket, b.retentionDays]),
      [['ringforge-dev-backups', 30]],
    );
  });
});

/*
 * Against versitygw on loopback, with versioning on (VGW_VERSIONING_DIR): it implements bucket
 * creation with object lock, versioning and default retention, and refuses lifecycle configuration
 * (NotImplemented), which the tests assert as such.
 */
describe('setting the buckets up on a real S3 server (versitygw)', () => {
  let store: LocalObjectStore;
  let client: S3Client;
  const versions = mkdtempSync(join(tmpdir(), 'rf-versions-'));
  const bucket = (name: string): BackupBucket => ({
    bucket: name,
    endpoint: store.endpoint,
    s3Region: 'us-east-1',
    retentionDays: 35,
    writer: 'test',
  });

  before(async () => {
    process.env.VGW_VERSIONING_DIR = versions;
    store = await startObjectStore({ bucket: 'unrelated' });
    delete process.env.VGW_VERSIONING_DIR;
    client = new S3Client({
      endpoint: store.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: store.accessKey, secretAccessKey: store.secretKey },
    });
  });
  after(async () => {
    client?.destroy();
    await store?.stop();
    rmSync(versions, { recursive: true, force: true });
  });

  test('creates the bucket with object lock, versioning and a 35-day COMPLIANCE retention; the lifecycle rule is refused', async () => {
    // when
    const results = await ensureBackupBucket(client, bucket('rf-prod-fsn1'));
    // then
    assert.deepEqual(
      results.map((r) => [r.step, r.ok, r.ok ? r.detail : r.detail.split(':')[0]]),
      [
        ['bucket', true, 'created with object lock'],
        ['versioning', true, 'Enabled'],
        ['object lock', true, `${LOCK_MODE}, 35 days by default`],
        ['lifecycle', false, 'NotImplemented'],
      ],
    );
    const { ObjectLockConfiguration } = await client.send(
      new GetObjectLockConfigurationCommand({ Bucket: 'rf-prod-fsn1' }),
    );
    assert.deepEqual(ObjectLockConfiguration, {
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 35 } },
    });
  });

  test('a WAL segment written there cannot be deleted before its retention ends; a delete only hides it', async () => {
    // given
    const Bucket = 'rf-prod-fsn1';
    const Key = 'prod/fsn1/pg/wals/0000000100000000/000000010000000000000001';
    const { VersionId } = await client.send(new PutObjectCommand({ Bucket, Key, Body: 'wal' }));
    // when
    const marker = await client.send(new DeleteObjectCommand({ Bucket, Key }));
    // then
    assert.equal(marker.DeleteMarker, true);
    await assert.rejects(client.send(new DeleteObjectCommand({ Bucket, Key, VersionId })), { name: 'AccessDenied' });
    const listed = await client.send(new ListObjectVersionsCommand({ Bucket }));
    assert.deepEqual(
      listed.Versions?.map((v) => v.VersionId),
      [VersionId],
    );
  });

  test('a second run changes nothing and reports the bucket as existing', async () => {
    const results = await ensureBackupBucket(client, bucket('rf-prod-fsn1'));
    assert.deepEqual(
      results.map((r) => [r.step, r.ok]),
      [
        ['bucket', true],
        ['versioning', true],
        ['object lock', true],
        ['lifecycle', false],
      ],
    );
    assert.equal(results[0]!.detail, 'exists, object lock enabled');
  });

  test('a bucket that exists without object lock is refused by name, and nothing else is attempted', async () => {
    await client.send(new CreateBucketCommand({ Bucket: 'rf-plain' }));
    const results = await ensureBackupBucket(client, bucket('rf-plain'));
    assert.equal(results.length, 1);
    assert.equal(results[0]!.ok, false);
    assert.match(
      results[0]!.detail,
      /bucket rf-plain exists without object lock, which S3 enables only at creation: archive to a new bucket \(backup\.bucket\) instead/,
    );
  });

  test('npm run backup:buckets -- prod: both region buckets, a failing exit for the refused step, no credential in the output', () => {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'scripts', 'backup-buckets.ts'), 'prod', '--endpoint', store.endpoint],
      {
        cwd: repoRoot,
        encoding: 'utf8',
        env: { ...process.env, AWS_ACCESS_KEY_ID: store.accessKey, AWS_SECRET_ACCESS_KEY: store.secretKey },
        timeout: 60_000,
      },
    );
    const output = run.stdout + run.stderr;
    assert.equal(run.status, 1, output);
    for (const name of ['ringforge-prod-backups-fsn1', 'ringforge-prod-backups-hel1']) {
      assert.match(output, new RegExp(`${name} .* object lock +ok +COMPLIANCE, 35 days by default`));
      assert.match(output, new RegExp(`${name} .* lifecycle +FAILED +NotImplemented`));
    }
    assert.match(output, /encryption at rest: Hetzner Object Storage offers only SSE-C/);
    assert.match(output, /2 step\(s\) failed/);
    assert.ok(!output.includes(store.secretKey) && !output.includes(store.accessKey), 'credentials printed');
  });

  test('refuses to run without credentials', () => {
    const env = { ...process.env };
    delete env.AWS_ACCESS_KEY_ID;
    delete env.AWS_SECRET_ACCESS_KEY;
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'scripts', 'backup-buckets.ts'), 'prod'],
      {
        cwd: repoRoot,
        encoding: 'utf8',
        env,
      },
    );
    assert.equal(run.status, 2);
    assert.match(run.stderr, /AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must hold the Object Storage credentials/);
  });
});
