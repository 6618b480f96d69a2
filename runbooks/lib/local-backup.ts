/* barman-cloud-backup run on this machine against a drill's local Postgres, as its postgres user. */
import type { Shell } from 'zx';
import { asPostgresUser } from '../../scripts/lib/local-services.ts';
import { backupArgs, backupListArgs, latestBackup, type BarmanBackup, type BarmanLocation } from './barman.ts';

/**
 * Takes a base backup named `name` of the Postgres on 127.0.0.1:`port` into `location`, through
 * `barman` (a shell with the object store's credentials); resolves with the newest completed backup.
 */
export async function takeBaseBackup(
  barman: Shell,
  location: BarmanLocation,
  port: number,
  name: string,
): Promise<BarmanBackup> {
  const [bin, ...args] = asPostgresUser(
    backupArgs(location, { host: '127.0.0.1', port, user: 'postgres', dbname: 'postgres' }, name),
  );
  await barman`${bin} ${args}`;
  return latestBackup((await barman`${backupListArgs(location)}`).stdout);
}
