/*
 * Plain HTTPS to the cluster's endpoints: the API server as the admin (client certificate from the
 * state directory), and the components' health endpoints, whose self-signed serving certificates
 * only a loopback caller ever sees.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { apiserverUrl } from './layout.ts';
import { certs, pki } from './pki.ts';

export interface Reply {
  readonly status: number;
  readonly body: string;
}

function send(url: string, options: { method?: string; body?: unknown; admin?: boolean } = {}): Promise<Reply> {
  const target = new URL(url);
  const tls =
    target.protocol !== 'https:'
      ? {}
      : options.admin
        ? {
            ca: readFileSync(pki.caCert),
            cert: readFileSync(pki.cert(certs.admin)),
            key: readFileSync(pki.key(certs.admin)),
          }
        : { rejectUnauthorized: false };
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = (target.protocol === 'https:' ? httpsRequest : httpRequest)(
      target,
      {
        method: options.method ?? 'GET',
        timeout: 5000,
        headers: payload === undefined ? {} : { 'content-type': 'application/json' },
        ...tls,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within 5s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** True when the endpoint answers 200. */
export const healthy = async (url: string): Promise<boolean> =>
  (await send(url).catch(() => ({ status: 0 }))).status === 200;

/** A request to the API server as the cluster admin. */
export const api = (path: string, method = 'GET', body?: unknown): Promise<Reply> =>
  send(`${apiserverUrl}${path}`, { method, body, admin: true });

/** GET of a list or object from the API server; throws on anything but 200. */
export async function apiGet<T>(path: string): Promise<T> {
  const reply = await api(path);
  if (reply.status !== 200) throw new Error(`GET ${path}: ${reply.status} ${reply.body.slice(0, 300)}`);
  return JSON.parse(reply.body) as T;
}
