/*
 * Tiers 2-3's origin lock, read from the rendered cluster folders: the Traefik Application and the
 * hub's Gateway, HTTPRoute and TLSOption together must mean "only Cloudflare, only public paths".
 * The HTTPS listener binds Traefik's websecure entrypoint, whose default TLS option requires and
 * verifies a client certificate against the origin-pull CA; PROXY protocol is believed from the
 * load balancer's subnet only; the timeouts let WebSockets live; ingress-nginx is gone.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { APP_OF_APPS, renderK8s, type RenderedApp } from '../charts/render.ts';
import { ORIGIN_PULL_CA_SECRET } from '../constructs/k8s/gateway.ts';
import { loadHetznerEnvironments } from '../environments/index.ts';
import { repoRoot } from '../scripts/lib/tools.ts';

const rendered = renderK8s(loadHetznerEnvironments());
const clusters = [...new Set(rendered.map((r) => r.cluster))];

const objectsOf = (cluster: string, app: string): any[] =>
  (rendered.find((r: RenderedApp) => r.cluster === cluster && r.app === app)?.objects ?? []) as any[];
const allObjects = (cluster: string): any[] => rendered.filter((r) => r.cluster === cluster).flatMap((r) => r.objects);

const ipv4 = (address: string) => address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
const inRange = (address: string, cidr: string) => {
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipv4(address) / size) === Math.floor(ipv4(base!) / size);
};

/** The load balancers' private addresses in an environment's synthesized infra stacks. */
function loadBalancerAddresses(env: string): string[] {
  const dir = join(repoRoot, 'dist/terraform');
  return readdirSync(dir)
    .filter((stack) => stack === `${env}-infra` || stack.startsWith(`${env}-infra-`))
    .flatMap((stack) => {
      const doc = JSON.parse(readFileSync(join(dir, stack, 'cdk.tf.json'), 'utf8'));
      return Object.values(doc.resource.hcloud_load_balancer_network ?? {}).map((n: any) => n.ip as string);
    });
}

describe('tiers 2-3 gateway', () => {
  assert.deepEqual(clusters.sort(), ['dist/k8s/prod/fsn1', 'dist/k8s/prod/hel1', 'dist/k8s/staging']);

  for (const cluster of clusters) {
    const env = cluster.split('/')[2]!;
    const traefik = objectsOf(cluster, APP_OF_APPS).find((a) => a.metadata.name === 'traefik');
    const values = traefik.spec.source.helm.valuesObject;
    const websecure = values.ports.websecure;

    test(`${cluster}: the HTTPS listener requires a client certificate verified against the origin-pull CA`, () => {
      const hub = objectsOf(cluster, 'hub');
      const gateway = hub.find((o) => o.kind === 'Gateway');
      const [listener, ...others] = gateway.spec.listeners;
      assert.deepEqual(others, []);
      assert.equal(listener.protocol, 'HTTPS');
      // Traefik binds a listener to the entrypoint with its port: the websecure one, behind 443.
      assert.equal(listener.port, websecure.port);
      assert.equal(websecure.exposedPort, 443);
      assert.equal(listener.tls.mode, 'Terminate');
      // Traefik applies the TLSOption named `default` to every router without its own; one may exist.
      const options = allObjects(cluster).filter((o) => o.kind === 'TLSOption');
      assert.deepEqual(
        options.map((o) => o.metadata.name),
        ['default'],
      );
      assert.deepEqual(options[0].spec.clientAuth, {
        clientAuthType: 'RequireAndVerifyClientCert',
        secretNames: [ORIGIN_PULL_CA_SECRET],
      });
      assert.equal(options[0].metadata.namespace, gateway.metadata.namespace);
      assert.equal(values.providers.kubernetesCRD.enabled, true, 'the CRD provider reads the TLSOption');
      assert.equal(values.providers.kubernetesGateway.enabled, true);
    });

    test(`${cluster}: PROXY protocol only from the load balancer's subnet, WebSocket-safe timeouts`, () => {
      const [range, ...more] = websecure.proxyProtocol.trustedIPs;
      assert.deepEqual(more, []);
      const addresses = loadBalancerAddresses(env);
      assert.ok(addresses.length > 0, `no load balancer in ${env}'s infra stacks`);
      for (const address of addresses) assert.ok(inRange(address, range), `${address} outside ${range}`);
      assert.equal(values.service.annotations['load-balancer.hetzner.cloud/uses-proxyprotocol'], 'true');
      const timeouts = websecure.transport.respondingTimeouts;
      // A finite read or write timeout would cut every WebSocket at that age.
      assert.equal(timeouts.readTimeout, '0s');
      assert.equal(timeouts.writeTimeout, '0s');
      // Longer than Cloudflare's 100 s idle, so Traefik never closes a connection Cloudflare still uses.
      assert.ok(Number.parseInt(timeouts.idleTimeout, 10) > 100);
      assert.equal(values.ports.web.expose.default, false, 'no plain HTTP port on the load balancer');
    });
  }

  test('nothing in dist/ mentions ingress-nginx', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir)) {
        const path = join(dir, entry);
        if (statSync(path).isDirectory()) walk(path);
        else if (/ingress-nginx|nginx\.ingress\.kubernetes\.io/.test(readFileSync(path, 'utf8'))) offenders.push(path);
      }
    };
    walk(join(repoRoot, 'dist'));
    assert.deepEqual(offenders, []);
  });
});
