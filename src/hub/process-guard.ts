import type { Logger } from './log.ts';
import type { HubMetrics } from './metrics.ts';

/**
 * The last line of defence of a process that faces the internet: an error that escaped every handler
 * is logged and counted (`hub_internal_errors_total{where="process"}`, which should stay at 0 and is
 * alerted on) instead of ending the process and every session on it.
 */
export function guardProcess(log: Logger, metrics: HubMetrics): void {
  process.on('uncaughtException', (error, origin) => {
    metrics.internalErrors.inc({ where: 'process' });
    log.error({ err: error, origin }, 'an error escaped every handler; the hub keeps serving');
  });
  process.on('unhandledRejection', (reason) => {
    metrics.internalErrors.inc({ where: 'process' });
    log.error({ err: reason }, 'a promise rejection escaped every handler; the hub keeps serving');
  });
}
