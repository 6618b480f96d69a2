import { ConfigError, describeUrl, loadConfig } from './config.ts';
import { migrate } from './db/migrate.ts';
import { openDatabase } from './db/open.ts';
import { createLogger } from './log.ts';
import { migrations } from './migrations/index.ts';

/* Applies pending migrations and exits; safe to run while replicas are starting (advisory lock). */
let config;
try {
  config = loadConfig(process.env, 'migrate');
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(2);
}
const log = createLogger(config.logLevel, { command: 'migrate' });
const target = config.databaseUrl === undefined ? `PGlite in ${config.dataDir}` : describeUrl(config.databaseUrl);
try {
  const db = await openDatabase(config, log);
  try {
    const report = await migrate(db, migrations);
    log.info({ applied: report.applied, schemaVersion: report.current, database: target }, 'migrations applied');
  } finally {
    await db.close();
  }
} catch (error) {
  log.fatal({ err: error, database: target }, 'migration failed');
  process.exit(1);
}
