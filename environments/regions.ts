import type { HetznerEnvironment, ObjectStorageLocation } from './schema.ts';

/*
 * Which region is primary and where each region's backups live. Everything that treats one region
 * as the writer (CloudNativePG's distributed topology, Cloudflare steering, drills) asks here, so a
 * switchover is the one field `primaryRegion`.
 */

export type Region = HetznerEnvironment['regions'][number];

/** The region whose database takes writes: `primaryRegion`, or the first region when it is unset. */
export function primaryRegionOf(env: HetznerEnvironment): Region {
  const name = env.primaryRegion ?? env.regions[0]!.name;
  const region = env.regions.find((r) => r.name === name);
  if (!region) throw new Error(`${env.name}: primaryRegion ${name} is not one of its regions`);
  return region;
}

/** The primary region first, then the others in the order the environment lists them. */
export function regionsByPreference(env: HetznerEnvironment): Region[] {
  const primary = primaryRegionOf(env);
  return [primary, ...env.regions.filter((r) => r !== primary)];
}

/** Object Storage location a region archives to: its `backupLocation`, else one in another place. */
export const backupLocationOf = (region: Region): ObjectStorageLocation =>
  region.backupLocation ?? (region.location === 'nbg1' ? 'fsn1' : 'nbg1');

/** Where one region's cluster archives WAL and base backups (tiers 2-3). */
export interface RegionBackupStore {
  /** One bucket per region, so the buckets' lock and lifecycle settings never mix regions. */
  readonly bucket: string;
  readonly folder: string;
  readonly location: ObjectStorageLocation;
  readonly endpoint: string;
  /** S3 signing region: Hetzner names it after the location. */
  readonly s3Region: string;
  readonly retentionDays: number;
}

export function regionBackupStore(env: HetznerEnvironment, region: Region): RegionBackupStore {
  const location = backupLocationOf(region);
  return {
    bucket: `${env.backup.bucket}-${region.name}`,
    folder: `${env.name}/${region.name}`,
    location,
    endpoint: `https://${location}.your-objectstorage.com`,
    s3Region: location,
    retentionDays: env.backup.retentionDays,
  };
}
