/*
 * `npm run backup:buckets -- <env> [--endpoint <url>]`: creates or checks the buckets an environment
 * archives to (object lock, versioning, default retention, lifecycle; scripts/lib/backup-buckets.ts).
 * The Object Storage credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY and are never
 * printed. `--endpoint` sends every bucket to one S3-compatible server instead (a local test server).
 * Exits 1 if any step failed.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { parseArgs } from 'node:util';
import { loadEnvironment } from '../environments/index.ts';
import { backupBuckets, ENCRYPTION_NOTE, ensureBackupBucket } from './lib/backup-buckets.ts';
import { table } from './lib/table.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { endpoint: { type: 'string' } } });
if (positionals.length !== 1) {
  console.error(
    'usage: npm run backup:buckets -- <env> [--endpoint <url>]   (credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)',
  );
  process.exit(2);
}
const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = process.env;
if (!accessKeyId || !secretAccessKey) {
  console.error('backup:buckets: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must hold the Object Storage credentials');
  process.exit(2);
}
const rows: string[][] = [];
let failures = 0;
for (const b of backupBuckets(loadEnvironment(positionals[0]!))) {
  const endpoint = values.endpoint ?? b.endpoint;
  const client = new S3Client({
    endpoint,
    // A local server signs for its own default region; Hetzner's region is the location.
    region: values.endpoint ? 'us-east-1' : b.s3Region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
  for (const r of await ensureBackupBucket(client, b)) {
    if (!r.ok) failures++;
    rows.push([b.bucket, endpoint, b.writer, r.step, r.ok ? 'ok' : 'FAILED', r.detail]);
  }
  client.destroy();
}
console.log(table(['bucket', 'endpoint', 'written by', 'step', 'result', 'detail'], rows));
console.log(`\n${ENCRYPTION_NOTE}`);
if (failures) {
  console.error(`\nbackup:buckets: ${failures} step(s) failed`);
  process.exit(1);
}
