import type { Hub } from './hub.ts';
import type { Logger } from './log.ts';

/**
 * SIGTERM (Kubernetes, docker stop) and SIGINT start a graceful shutdown; the process exits 0 when it
 * completes, or 1 when the grace period runs out first. A second signal exits at once.
 */
export function exitOnSignals(hub: Hub, graceMs: number, log: Logger): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    const timer = setTimeout(() => {
      log.error({ graceMs }, 'graceful shutdown did not finish within the grace period: exiting');
      process.exit(1);
    }, graceMs);
    timer.unref();
    hub.shutdown(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'graceful shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
