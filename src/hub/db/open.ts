import type { HubConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Database } from './database.ts';
import { openPglite } from './pglite.ts';
import { openPostgres } from './postgres.ts';

export async function openDatabase(config: HubConfig, log: Logger): Promise<Database> {
  if (config.databaseUrl !== undefined) return openPostgres(config.databaseUrl, config.dbPoolSize, log);
  return openPglite(config.dataDir);
}
