import { pino, type Logger } from 'pino';

export type { Logger };

/*
 * One JSON object per line on stdout. Secrets never reach a log call, and the redaction list is a
 * second line of defence should a request object or payload ever be logged whole.
 */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({
    level,
    base: { service: 'ringforge-hub', ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: [
        'apiKey',
        '*.apiKey',
        'adminToken',
        'authorization',
        '*.authorization',
        'databaseUrl',
        'redisUrl',
        'redis.password',
      ],
      censor: '[redacted]',
    },
  });
}
