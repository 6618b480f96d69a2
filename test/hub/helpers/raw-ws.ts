/*
 * A WebSocket to the hub with nothing of the client's manners: any frame, any source address, any
 * headers, and the option to stop reading. Every frame the hub sends is kept in order.
 */
import WebSocket from 'ws';

export interface RawSession {
  readonly ws: WebSocket;
  readonly frames: any[];
  readonly closed: Promise<{ code: number; reason: string }>;
  send(frame: unknown): void;
  /** The reply with this id (waits for it). */
  reply(id: string, timeoutMs?: number): Promise<any>;
  /** Sends a request and waits for its reply. */
  request(type: string, payload?: unknown, id?: string): Promise<any>;
}

export interface RawOptions {
  /** Source address on the loopback network, e.g. `127.0.0.7`, so limits per address can be tried. */
  readonly localAddress?: string;
  readonly headers?: Record<string, string>;
}

let ids = 0;

/** Opens a socket; rejects with the HTTP status when the upgrade is refused. */
export function openRaw(url: string, options: RawOptions = {}): Promise<RawSession> {
  const ws = new WebSocket(url, {
    localAddress: options.localAddress,
    headers: options.headers,
    maxPayload: 64 * 1024 * 1024,
  });
  ws.on('error', () => undefined);
  const frames: any[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data) => {
    frames.push(JSON.parse(data.toString()));
    for (const wake of waiters) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const wake of waiters) wake();
    }),
  );
  const session: RawSession = {
    ws,
    frames,
    closed,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    reply: (id, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = frames.find((f) => f.type === 'reply' && f.id === id);
          if (found !== undefined) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          } else if (ws.readyState === WebSocket.CLOSED) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`socket closed before the reply to ${id}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no reply to ${id} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    request: (type, payload = {}, id = `r${++ids}`) => {
      session.send({ type, id, payload });
      return session.reply(id);
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(session));
    ws.once('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode }));
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

/** Opens a socket and says hello; resolves with the session and the hello reply. */
export async function helloRaw(
  url: string,
  apiKey: string,
  name: string,
  options: RawOptions = {},
): Promise<{ session: RawSession; hello: any }> {
  const session = await openRaw(url, options);
  const hello = await session.request('hello', { apiKey, agent: { name } });
  return { session, hello };
}

/** JSON arrays nested `depth` deep around a number. */
export const nested = (depth: number): unknown => JSON.parse('['.repeat(depth) + '1' + ']'.repeat(depth));
