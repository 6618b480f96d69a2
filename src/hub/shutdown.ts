import type { Hub } from './hub.ts';
import type { Logger } from './log.ts';

/**
 * A signal this soon after the first is the same stop delivered twice (a launcher such as npm or
 * tsx relays the signal its process group also received), not an operator insisting.
 */
const RELAYED_SIGNAL_MS = 1000;

/**
 * SIGTERM (Kubernetes, docker stop) and SIGINT start a graceful shutdown; the process exits 0 when it
 * completes, or 1 when the grace period runs out first. A second signal, a second or more later,
 * exits at once.
 */
export function exitOnSignals(hub: Hub, graceMs: number, log: Logger): void {
  let firstSignalAt: number | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstSignalAt !== undefined) {
      if (Date.now() - firstSignalAt < RELAYED_SIGNAL_MS) return;
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    firstSignalAt = Date.now();
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
