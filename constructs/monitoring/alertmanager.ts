import { SEVERITIES, type Alerting, type Receiver, type SecretRef } from '../../environments/alerting.ts';

/** Where the Alertmanager of a tier finds a Secret's key as a file. */
export type SecretFile = (ref: SecretRef) => string;

/** kube-prometheus-stack mounts each Secret listed in `alertmanagerSpec.secrets` here. */
export const kubernetesSecretFile: SecretFile = (ref) => `/etc/alertmanager/secrets/${ref.secret}/${ref.key}`;

/** Receives what nobody needs to see: the dead man's switch and kube-prometheus-stack's info alerts. */
const DISCARD = 'discard';

const GROUP_BY = ['alertname', 'environment', 'region'];
const SAME_PLACE = ['environment', 'region'];

function receiverConfig(r: Receiver, file: SecretFile): Record<string, unknown> {
  switch (r.type) {
    case 'email':
      return {
        name: r.name,
        email_configs: [
          {
            to: r.to,
            from: r.from,
            smarthost: r.smarthost,
            auth_username: r.username,
            auth_password_file: file(r.password),
            require_tls: true,
            send_resolved: true,
          },
        ],
      };
    case 'slack':
      return {
        name: r.name,
        slack_configs: [{ api_url_file: file(r.webhookUrl), channel: r.channel, send_resolved: true }],
      };
    case 'webhook':
      return { name: r.name, webhook_configs: [{ url_file: file(r.url), send_resolved: true }] };
    case 'pagerduty':
      return { name: r.name, pagerduty_configs: [{ routing_key_file: file(r.routingKey), send_resolved: true }] };
  }
}

/**
 * The Alertmanager configuration of an environment: each severity goes to its receivers in order
 * (`continue` hands the alert on to the next), a region that is down silences the alerts of its
 * parts, a hub that is down silences the hub's other alerts, and a critical alert its warning twin.
 */
export function alertmanagerConfig(alerting: Alerting, file: SecretFile): Record<string, unknown> {
  const severityRoutes = SEVERITIES.flatMap((severity) =>
    alerting.routes[severity].map((receiver, i, all) => ({
      receiver,
      matchers: [`severity="${severity}"`],
      continue: i < all.length - 1,
    })),
  );
  return {
    global: { resolve_timeout: '5m' },
    route: {
      receiver: alerting.routes.warning[0],
      group_by: GROUP_BY,
      group_wait: '30s',
      group_interval: '5m',
      repeat_interval: `${alerting.repeatIntervalHours}h`,
      routes: [
        { receiver: DISCARD, matchers: ['alertname=~"Watchdog|InfoInhibitor"'] },
        { receiver: DISCARD, matchers: ['severity=~"info|none"'] },
        ...severityRoutes,
      ],
    },
    receivers: [{ name: DISCARD }, ...alerting.receivers.map((r) => receiverConfig(r, file))],
    inhibit_rules: [
      {
        source_matchers: ['alertname="RingforgeRegionDown"'],
        target_matchers: ['alertname!="RingforgeRegionDown"'],
        equal: SAME_PLACE,
      },
      {
        source_matchers: ['alertname="RingforgeHubDown"'],
        target_matchers: ['component=~"hub|slo"', 'alertname!="RingforgeHubDown"'],
        equal: SAME_PLACE,
      },
      {
        source_matchers: ['severity="critical"'],
        target_matchers: ['severity="warning"'],
        equal: ['alertname', ...SAME_PLACE],
      },
    ],
  };
}
