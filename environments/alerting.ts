import { z } from 'zod';

/*
 * Where alerts go: receivers, routes by severity and the thresholds that differ between
 * environments. Secrets (webhook URLs, PagerDuty keys, SMTP passwords) are never written here:
 * a receiver names the Kubernetes Secret and key that holds each one, and the rendered
 * Alertmanager configuration reads them from the mounted file.
 */

export const SEVERITIES = ['critical', 'warning'] as const;
export type Severity = (typeof SEVERITIES)[number];

const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a Kubernetes name (lowercase letters, digits, dashes)');

/** A Secret key holding a credential: the value itself never appears in an environment file. */
export const secretRefSchema = z.strictObject({
  secret: dnsLabel,
  key: z.string().regex(/^[A-Za-z0-9._-]{1,253}$/, 'must be a Secret data key (letters, digits, ".", "_", "-")'),
});
export type SecretRef = z.infer<typeof secretRefSchema>;

const email = z.email('must be an e-mail address');
const hostPort = z.string().regex(/^[a-z0-9.-]+:\d{1,5}$/, 'must be host:port, e.g. smtp.example.com:587');

const receiverName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be a lowercase name of letters, digits and dashes');

export const receiverSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      name: receiverName,
      type: z.literal('email'),
      to: email,
      from: email,
      /** SMTP server, host:port; STARTTLS is required. */
      smarthost: hostPort,
      username: z.string().min(1, 'must not be empty'),
      password: secretRefSchema,
    }),
    z.strictObject({
      name: receiverName,
      type: z.literal('slack'),
      /** The incoming-webhook URL carries its own credential, so it is a secret too. */
      webhookUrl: secretRefSchema,
      channel: z.string().regex(/^#[a-z0-9._-]{1,80}$/, 'must be a channel such as #ringforge-alerts'),
    }),
    z.strictObject({
      name: receiverName,
      type: z.literal('webhook'),
      url: secretRefSchema,
    }),
    z.strictObject({
      name: receiverName,
      type: z.literal('pagerduty'),
      /** Events API v2 integration (routing) key. */
      routingKey: secretRefSchema,
    }),
  ],
  { error: "must have type 'email', 'slack', 'webhook' or 'pagerduty'" },
);
export type Receiver = z.infer<typeof receiverSchema>;

export const alertingSchema = z
  .strictObject({
    receivers: z.array(receiverSchema).min(1, 'must list at least one receiver'),
    /** Receivers of each severity, in order; every alert carries a severity. */
    routes: z.strictObject(
      Object.fromEntries(
        SEVERITIES.map((s) => [s, z.array(receiverName).min(1, `must name at least one receiver for ${s} alerts`)]),
      ) as Record<Severity, z.ZodArray<typeof receiverName>>,
    ),
    /** How long an unresolved alert waits before it is sent again. */
    repeatIntervalHours: z.int('must be an integer').min(1, 'must be >= 1').max(168, 'must be <= 168').default(4),
    /** A base backup older than this alerts; longer than the schedule's interval plus its run time. */
    backupMaxAgeHours: z.int('must be an integer').min(1, 'must be >= 1').default(26),
  })
  .superRefine((alerting, ctx) => {
    const names = alerting.receivers.map((r) => r.name);
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) {
        ctx.addIssue({ code: 'custom', path: ['receivers', i, 'name'], message: `must be unique (${n} repeats)` });
      }
    });
    for (const severity of SEVERITIES) {
      alerting.routes[severity].forEach((n, i) => {
        if (!names.includes(n)) {
          ctx.addIssue({
            code: 'custom',
            path: ['routes', severity, i],
            message: `must name a receiver of alerting.receivers (${names.join(', ')}); got ${n}`,
          });
        }
      });
    }
  });
export type Alerting = z.infer<typeof alertingSchema>;

/** Every Secret the receivers read, once each. */
export function alertingSecrets(alerting: Alerting): string[] {
  const refs = alerting.receivers.flatMap((r): SecretRef[] => {
    switch (r.type) {
      case 'email':
        return [r.password];
      case 'slack':
        return [r.webhookUrl];
      case 'webhook':
        return [r.url];
      case 'pagerduty':
        return [r.routingKey];
    }
  });
  return [...new Set(refs.map((s) => s.secret))].sort();
}
