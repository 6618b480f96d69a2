/*
 * Cloudflare's half of Authenticated Origin Pulls, for checking an origin locally: a test CA in the
 * role of Cloudflare's origin-pull CA, and a relay on loopback that, like Cloudflare's edge, opens
 * its own TLS connection to the origin presenting the client certificate that CA signed. Plain
 * HTTP and WebSocket clients (the probe, the hub client) then reach the origin the way agents do.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connect } from 'node:tls';

/** PEM files of a CA and of a client certificate it signed. */
export interface ClientPki {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

function openssl(args: readonly string[]): void {
  const result = spawnSync('openssl', args, { encoding: 'utf8', timeout: 30_000 });
  if (result.error !== undefined || result.status !== 0) {
    throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr ?? result.error?.message}`);
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A new key and a certificate it signs itself, valid for a day. */
function selfSigned(subject: string, keyFile: string, certFile: string, extensions: readonly string[] = []): void {
  openssl([
    'req',
    '-x509',
    ...EC_KEY,
    '-days',
    '1',
    '-subj',
    subject,
    ...extensions,
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
}

/** A CA valid for a day and a client certificate it signs, written to `dir` as `<name>-*.pem`. */
export function makeClientPki(dir: string, name: string): ClientPki {
  const p = (file: string) => join(dir, `${name}-${file}`);
  selfSigned(`/CN=${name} CA`, p('ca.key'), p('ca.pem'));
  openssl(['req', '-new', ...EC_KEY, '-subj', `/CN=${name} client`, '-keyout', p('key.pem'), '-out', p('client.csr')]);
  const sign = ['-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '1'];
  openssl(['x509', '-req', '-in', p('client.csr'), ...sign, '-out', p('cert.pem')]);
  return { ca: p('ca.pem'), cert: p('cert.pem'), key: p('key.pem') };
}

/** A self-signed server certificate for `hostname` (and 127.0.0.1), standing in for the origin certificate. */
export function makeServerCertificate(hostname: string, certFile: string, keyFile: string): void {
  selfSigned(`/CN=${hostname}`, keyFile, certFile, ['-addext', `subjectAltName=DNS:${hostname},IP:127.0.0.1`]);
}

export interface OriginPullRelay {
  /** Loopback port that takes plain connections and forwards them over TLS to the origin. */
  readonly port: number;
  close(): void;
}

/**
 * Listens on a free loopback port; every connection is forwarded to the origin over TLS with
 * `hostname` as SNI, trusting only `originCa` (the origin certificate) and presenting `client`.
 */
export function startOriginPullRelay(
  origin: { readonly port: number; readonly hostname: string; readonly originCa: string },
  client: ClientPki,
): Promise<OriginPullRelay> {
  const cert = readFileSync(client.cert);
  const key = readFileSync(client.key);
  const ca = readFileSync(origin.originCa);
  const server = createServer((downstream) => {
    const upstream = connect({ host: '127.0.0.1', port: origin.port, servername: origin.hostname, ca, cert, key });
    downstream.pipe(upstream).pipe(downstream);
    upstream.on('error', () => downstream.destroy());
    downstream.on('error', () => upstream.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () =>
      resolve({ port: (server.address() as AddressInfo).port, close: () => server.close() }),
    );
  });
}

/**
 * Status the origin answers a TLS client that presents no certificate (0 if the connection fails):
 * what anyone who found the origin's address gets. A locked origin says 400, never the hub's 200.
 */
export function statusWithoutClientCertificate(
  origin: { readonly port: number; readonly hostname: string; readonly originCa: string },
  path: string,
): Promise<number> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: origin.port,
        servername: origin.hostname,
        path,
        headers: { host: origin.hostname },
        ca: readFileSync(origin.originCa),
        timeout: 5000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}
