import type { Dashboard } from './builder.ts';

const quantile = (q: number, selector: string) =>
  `histogram_quantile(${q}, sum by (le) (rate(nginx_ingress_controller_request_duration_seconds_bucket{${selector}}[5m])))`;

/**
 * The edge inside the cluster: the ingress controller in front of the hub. Cloudflare's side
 * (WAF, rate limits, steering) is in Cloudflare's own analytics.
 */
export function edgeDashboard(controller: string): Dashboard {
  return {
    uid: 'ringforge-edge',
    title: 'RingForge edge',
    description: 'The ingress controller: requests by status, latency, open connections and the certificate it serves.',
    rows: [
      {
        title: 'Requests',
        panels: [
          {
            title: 'Requests / s by status',
            unit: 'reqps',
            queries: [
              {
                expr: `sum by (status) (rate(nginx_ingress_controller_requests{${controller}}[5m]))`,
                legend: '{{status}}',
              },
            ],
          },
          {
            title: '5xx share',
            unit: 'percentunit',
            redAbove: 0.01,
            queries: [
              {
                expr:
                  `sum(rate(nginx_ingress_controller_requests{${controller}, status=~"5.."}[5m])) / ` +
                  `sum(rate(nginx_ingress_controller_requests{${controller}}[5m]))`,
                legend: '5xx',
              },
            ],
          },
          {
            title: 'Latency',
            unit: 's',
            queries: [
              { expr: quantile(0.95, controller), legend: 'p95' },
              { expr: quantile(0.99, controller), legend: 'p99' },
            ],
          },
        ],
      },
      {
        title: 'Connections and TLS',
        panels: [
          {
            title: 'Connections',
            description: 'Open client connections, WebSockets included, by state.',
            queries: [
              {
                expr: `sum by (state) (nginx_ingress_controller_nginx_process_connections{${controller}})`,
                legend: '{{state}}',
              },
            ],
          },
          {
            title: 'Certificate expires in',
            kind: 'stat',
            unit: 's',
            queries: [
              {
                expr: `min(nginx_ingress_controller_ssl_expire_time_seconds{${controller}}) - time()`,
                legend: 'expiry',
              },
            ],
          },
        ],
      },
    ],
  };
}
