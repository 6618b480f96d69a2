import { ConfigError, loadConfig } from './config.ts';
import { startHub } from './hub.ts';
import { createLogger } from './log.ts';
import { guardProcess } from './process-guard.ts';
import { exitOnSignals } from './shutdown.ts';

let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(2);
}

const log = createLogger(config.logLevel, { replica: config.replicaId });
try {
  const hub = await startHub(config, log);
  guardProcess(log, hub.services.metrics);
  exitOnSignals(hub, config.shutdownGraceMs, log);
} catch (error) {
  log.fatal({ err: error }, 'hub failed to start');
  process.exit(1);
}
