/*
 * Tier 0's origin lock, for real: the nginx image of the compose stack runs under podman on
 * loopback with the nginx.conf renderNginxConf writes for a server, in front of a small upstream
 * standing in for the hub's public port (it answers every path, so whatever it never sees, nginx
 * kept from it). A test CA plays Cloudflare's origin-pull CA. A TLS client without its client
 * certificate, or with one from another CA, gets nothing from the hub; Cloudflare's gets `/ws` and
 * the health routes, never `/metrics` or the admin API, and its CF-Connecting-IP reaches the hub as
 * X-Forwarded-For.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  makeClientPki,
  makeServerCertificate,
  startOriginPullRelay,
  type ClientPki,
  type OriginPullRelay,
} from '../scripts/containers/origin-pull.ts';
import { localImages, podman, podmanConf } from '../scripts/containers/podman.ts';
import { ORIGIN_PULL_CA_FILE, renderNginxConf } from '../constructs/hetzner/roles/single-node.ts';
import { freePort } from '../scripts/lib/local-services.ts';

const HOSTNAME = 'hub.origin-lock.test';
const AGENT_ADDRESS = '203.0.113.7';

/** Why the test cannot run here, or undefined when podman, its configuration and the image are present. */
function missingRuntime(): string | undefined {
  const version = spawnSync('podman', ['--version'], { encoding: 'utf8' });
  if (version.error !== undefined || version.status !== 0)
    return 'podman is not installed (npm run toolchain, as root)';
  try {
    readFileSync(podmanConf);
    podman(['image', 'exists', localImages.nginx], 30);
  } catch {
    return `${localImages.nginx} or ${podmanConf} is missing (npm run toolchain, as root)`;
  }
  return undefined;
}

interface Seen {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
}

/** Answers every path with 200 and every upgrade with 101, and remembers what reached it. */
function startUpstream(port: number, seen: Seen[]): Promise<Server> {
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    res.end(`upstream ${req.url}`);
  });
  server.on('upgrade', (req, socket) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

describe('tier 0 origin lock: nginx admits only the origin-pull certificate', { skip: missingRuntime() }, () => {
  const seen: Seen[] = [];
  const container = `rf-origin-lock-${randomBytes(4).toString('hex')}`;
  let dir = '';
  let upstream: Server | undefined;
  let httpsPort = 0;
  let serverCa = '';
  let stranger: ClientPki;
  let cloudflare: OriginPullRelay | undefined;

  /**
   * GET straight to nginx over TLS, with or without a client certificate, or (`via: 'cloudflare'`)
   * in plain HTTP to the relay that connects with the origin-pull certificate, as Cloudflare does.
   */
  const get = (
    path: string,
    via: 'cloudflare' | { client?: ClientPki },
    headers: Record<string, string> = {},
  ): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const common = { host: '127.0.0.1', path, headers: { host: HOSTNAME, ...headers }, timeout: 5000 };
      const onResponse = (res: IncomingMessage) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      };
      const client = via === 'cloudflare' ? undefined : via.client;
      const req =
        via === 'cloudflare'
          ? httpRequest({ ...common, port: cloudflare!.port }, onResponse)
          : httpsRequest(
              {
                ...common,
                port: httpsPort,
                servername: HOSTNAME,
                ca: serverCa,
                ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
              },
              onResponse,
            );
      req.on('upgrade', (res, socket) => {
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, body: '' });
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
      req.on('error', reject);
      req.end();
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rf-origin-lock-'));
    const tls = join(dir, 'tls');
    mkdirSync(tls);
    const originPull = makeClientPki(dir, 'origin-pull');
    stranger = makeClientPki(dir, 'stranger');
    makeServerCertificate(HOSTNAME, join(tls, 'origin.crt'), join(tls, 'origin.key'));
    writeFileSync(join(tls, ORIGIN_PULL_CA_FILE), readFileSync(originPull.ca));
    serverCa = readFileSync(join(tls, 'origin.crt'), 'utf8');

    const [hubPort, httpPort, tlsPort] = [await freePort(), await freePort(), await freePort()];
    httpsPort = tlsPort;
    upstream = await startUpstream(hubPort, seen);
    const conf = join(dir, 'nginx.conf');
    // The server's own file, but listening on free loopback ports instead of the container's 8080/8443.
    writeFileSync(conf, renderNginxConf({ hostname: HOSTNAME, hubPort }, { http: httpPort, https: httpsPort }));
    // Host networking keeps everything on loopback; `hub` resolves to the upstream as it would on the compose network.
    podman([
      'run',
      '-d',
      '--rm',
      '--name',
      container,
      '--network',
      'host',
      '--add-host',
      'hub:127.0.0.1',
      '--read-only',
      '--tmpfs',
      '/tmp',
      '--tmpfs',
      '/var/cache/nginx',
      '--tmpfs',
      '/var/run',
      '-v',
      `${conf}:/etc/nginx/nginx.conf:ro`,
      '-v',
      `${tls}:/etc/nginx/tls:ro`,
      localImages.nginx,
    ]);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const open = await new Promise<boolean>((resolve) => {
        const socket = connect(httpsPort, '127.0.0.1', () => resolve(socket.end() && true)).on('error', () =>
          resolve(false),
        );
      });
      if (open) break;
      if (Date.now() > deadline) {
        throw new Error(`nginx did not listen on ${httpsPort} within 20 s:\n${podman(['logs', container])}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    cloudflare = await startOriginPullRelay(
      { port: httpsPort, hostname: HOSTNAME, originCa: join(tls, 'origin.crt') },
      originPull,
    );
  });

  after(() => {
    spawnSync('podman', ['rm', '-f', '-t', '0', container], { env: { ...process.env, CONTAINERS_CONF: podmanConf } });
    cloudflare?.close();
    upstream?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a TLS client without a client certificate is refused and reaches nothing', async () => {
    const before = seen.length;
    for (const path of ['/ws', '/api/health', '/api/ready']) {
      const answer = await get(path, {});
      assert.equal(answer.status, 400, path);
      assert.match(answer.body, /No required SSL certificate was sent/, path);
    }
    assert.equal(seen.length, before, 'the upstream saw no request');
  });

  test('a client certificate from another CA is refused and reaches nothing', async () => {
    const before = seen.length;
    const answer = await get('/api/health', { client: stranger });
    assert.equal(answer.status, 400);
    assert.match(answer.body, /SSL certificate error/);
    assert.equal(seen.length, before, 'the upstream saw no request');
  });

  test("Cloudflare's certificate gets the health routes, with CF-Connecting-IP as X-Forwarded-For", async () => {
    for (const path of ['/api/health', '/api/ready']) {
      const answer = await get(path, 'cloudflare', {
        'cf-connecting-ip': AGENT_ADDRESS,
        'x-forwarded-for': '198.51.100.99',
      });
      assert.deepEqual(answer, { status: 200, body: `upstream ${path}` });
      const last = seen.at(-1)!;
      assert.equal(last.path, path);
      // The client's own X-Forwarded-For is dropped: the hub reads one address, Cloudflare's word for it.
      assert.equal(last.headers['x-forwarded-for'], AGENT_ADDRESS);
    }
  });

  test("Cloudflare's certificate gets the WebSocket upgrade on /ws", async () => {
    const answer = await get('/ws', 'cloudflare', {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': randomBytes(16).toString('base64'),
      'cf-connecting-ip': AGENT_ADDRESS,
    });
    assert.equal(answer.status, 101);
    const last = seen.at(-1)!;
    assert.equal(last.path, '/ws');
    assert.equal(last.headers.upgrade, 'websocket');
  });

  test('even through Cloudflare, /metrics, the admin API and other paths never reach the hub', async () => {
    const before = seen.length;
    for (const path of ['/metrics', '/api/admin/tenants', '/api/admin', '/ws/../metrics', '/', '/api/healthz']) {
      const answer = await get(path, 'cloudflare');
      assert.equal(answer.status, 404, path);
    }
    assert.equal(seen.length, before, `the upstream saw ${JSON.stringify(seen.slice(before).map((s) => s.path))}`);
  });
});
