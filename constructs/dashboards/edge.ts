import { latencyPercentiles, type Dashboard } from './builder.ts';

/** The HTTPS entrypoint the hub's Gateway listener binds; the metrics entrypoint is not the edge. */
const ENTRYPOINT = 'entrypoint="websecure"';

/**
 * The edge inside the cluster: the Traefik gateway in front of the hub. Cloudflare's side (WAF,
 * rate limits, steering) is in Cloudflare's own analytics.
 */
export function edgeDashboard(controller: string): Dashboard {
  const at = `${controller}, ${ENTRYPOINT}`;
  return {
    uid: 'ringforge-edge',
    title: 'RingForge edge',
    description: 'The Traefik gateway: requests by status, latency, open connections and the certificate it serves.',
    rows: [
      {
        title: 'Requests',
        panels: [
          {
            title: 'Requests / s by status',
            unit: 'reqps',
            queries: [
              { expr: `sum by (code) (rate(traefik_entrypoint_requests_total{${at}}[5m]))`, legend: '{{code}}' },
            ],
          },
          {
            title: '5xx share',
            unit: 'percentunit',
            redAbove: 0.01,
            queries: [
              {
                expr:
                  `sum(rate(traefik_entrypoint_requests_total{${at}, code=~"5.."}[5m])) / ` +
                  `sum(rate(traefik_entrypoint_requests_total{${at}}[5m]))`,
                legend: '5xx',
              },
            ],
          },
          {
            title: 'Latency',
            description: 'Requests only: a WebSocket is counted once its upgrade is answered.',
            unit: 's',
            queries: latencyPercentiles('traefik_entrypoint_request_duration_seconds_bucket', at),
          },
        ],
      },
      {
        title: 'Connections and TLS',
        panels: [
          {
            title: 'Connections',
            description: 'Open client connections by protocol; agents hold theirs as WebSockets.',
            queries: [{ expr: `sum by (protocol) (traefik_open_connections{${at}})`, legend: '{{protocol}}' }],
          },
          {
            title: 'Certificate expires in',
            kind: 'stat',
            unit: 's',
            queries: [{ expr: `min(traefik_tls_certs_not_after{${controller}}) - time()`, legend: 'expiry' }],
          },
        ],
      },
    ],
  };
}
