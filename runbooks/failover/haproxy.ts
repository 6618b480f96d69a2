/*
 * A local HAProxy (Debian package) in front of the hub processes, configured like the Hetzner load
 * balancer of tier 1: round robin, HTTP health check on /api/ready, WebSocket tunnels kept open.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { $, type ProcessPromise } from 'zx';
import { freePort } from '../../scripts/lib/local-services.ts';

export interface LoadBalancer {
  readonly port: number;
  readonly wsUrl: string;
  stop(): Promise<void>;
}

/** haproxy.cfg for hubs on loopback ports; health checks every 500 ms, out after one failure. */
export function haproxyConfig(listenPort: number, hubPorts: readonly number[]): string {
  return [
    'global',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout tunnel 1h',
    // A connection refused by a dead hub is retried on another one instead of failing the client.
    '  retries 3',
    '  option redispatch',
    'frontend hubs',
    `  bind 127.0.0.1:${listenPort}`,
    '  default_backend hubs',
    'backend hubs',
    '  balance roundrobin',
    '  option httpchk GET /api/ready',
    '  http-check expect status 200',
    ...hubPorts.map((port, i) => `  server hub${i + 1} 127.0.0.1:${port} check inter 500ms fall 1 rise 2`),
    '',
  ].join('\n');
}

export async function startHaproxy(dir: string, hubPorts: readonly number[]): Promise<LoadBalancer> {
  const port = await freePort();
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(config, haproxyConfig(port, hubPorts));
  await $({ quiet: true })`haproxy -c -q -f ${config}`;
  const proxy: ProcessPromise = $({ quiet: true, nothrow: true })`haproxy -db -f ${config}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await fetch(`http://127.0.0.1:${port}/api/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) throw new Error(`haproxy did not answer on 127.0.0.1:${port}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    port,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    async stop() {
      await proxy.kill('SIGTERM').catch(() => undefined);
      await proxy;
    },
  };
}
