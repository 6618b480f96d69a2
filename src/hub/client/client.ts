import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { backoffDelay, type BackoffOptions } from './backoff.ts';
import type { DirectMessage, ErrorBody, HelloReply, SendReceipt } from './types.ts';

export interface HubClientOptions {
  /** WebSocket URLs of hub replicas (`ws://host:port/ws`); reconnects move on to the next one. */
  readonly urls: readonly string[];
  readonly apiKey: string;
  readonly agent: {
    readonly name: string;
    readonly capabilities?: readonly string[];
    readonly tags?: readonly string[];
  };
  /** Highest DM seq the application has already processed, e.g. persisted from an earlier run. @default 0 */
  readonly lastSeq?: number;
  readonly backoff?: BackoffOptions;
  /** @default 10000 */
  readonly requestTimeoutMs?: number;
  /** Acknowledgements are batched for this long. @default 20 */
  readonly ackDelayMs?: number;
  /** Consecutive failed connection attempts before giving up. @default 1000 */
  readonly maxReconnectAttempts?: number;
  /**
   * The local address to connect from, e.g. `127.0.0.2`: a load generator spreads its connections
   * over several so it does not run out of ephemeral ports. @default the kernel's choice
   */
  readonly localAddress?: string;
}

/** Error replies from the hub, and `disconnected` / `timeout` / `closed` raised by the client itself. */
export class HubRequestError extends Error {
  readonly code: string;
  readonly rule?: string;
  readonly retryAfterMs?: number;
  constructor(body: ErrorBody | { code: string; message: string; rule?: string; retryAfterMs?: number }) {
    super(`${body.code}: ${body.message}`);
    this.name = 'HubRequestError';
    this.code = body.code;
    this.rule = body.rule;
    this.retryAfterMs = body.retryAfterMs;
  }
}

/** Close codes after which reconnecting cannot help. */
const FATAL_CLOSE_CODES = new Set([4001, 4009]);
const RETRYABLE = new Set(['disconnected', 'timeout', 'draining', 'internal', 'overloaded']);

interface Pending {
  /** Runs synchronously on the reply, before any later frame of the same chunk is handled. */
  onReply?: (payload: unknown) => void;
  resolve(payload: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export interface HubClientEvents {
  connected: [HelloReply];
  disconnected: [{ code: number; reason: string }];
  /** Each direct message exactly once, in sequence order; acknowledged after the listeners return. */
  dm: [DirectMessage];
  /** Any other pushed event: activity, presence.changed, task.assigned, task.finished. */
  event: [string, unknown];
  /** The client stopped for good (closed by the application, unauthorized, replaced, or out of attempts). */
  closed: [string];
}

/**
 * A hub client that stays connected: reconnects with jittered backoff, resumes direct messages from
 * the last one the application processed, drops redeliveries by seq and fills gaps from the hub.
 */
export class HubClient extends EventEmitter<HubClientEvents> {
  /** Redeliveries dropped by seq: at-least-once on the wire, exactly once to the application. */
  duplicatesDropped = 0;
  private socket: WebSocket | undefined;
  private ready = false;
  private stopped = false;
  private lastSeq: number;
  private ackedSeq = 0;
  private ackTimer: NodeJS.Timeout | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly outOfOrder = new Map<number, DirectMessage>();
  private filling = false;
  private nextId = 0;
  private urlIndex = 0;
  private hello: HelloReply | undefined;

  constructor(private readonly options: HubClientOptions) {
    super();
    if (options.urls.length === 0) throw new Error('urls: give at least one hub URL');
    this.lastSeq = options.lastSeq ?? 0;
  }

  /** Highest DM seq handed to the application. */
  get lastDeliveredSeq(): number {
    return this.lastSeq;
  }

  get connected(): boolean {
    return this.ready;
  }

  get identity(): HelloReply {
    if (this.hello === undefined) throw new Error('not connected yet');
    return this.hello;
  }

  /** Connects (retrying with backoff) and resolves with the hello reply. */
  async connect(): Promise<HelloReply> {
    const connected = new Promise<HelloReply>((resolve, reject) => {
      const onClosed = (why: string) => reject(new HubRequestError({ code: 'closed', message: why }));
      this.once('closed', onClosed);
      this.once('connected', (hello) => {
        this.off('closed', onClosed);
        resolve(hello);
      });
    });
    void this.connectLoop();
    return connected;
  }

  /** Resolves at the next successful (re)connection. */
  async waitConnected(timeoutMs: number): Promise<void> {
    if (this.ready) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('connected', onConnected);
        reject(new HubRequestError({ code: 'timeout', message: `not reconnected within ${timeoutMs} ms` }));
      }, timeoutMs);
      const onConnected = () => {
        clearTimeout(timer);
        resolve();
      };
      this.once('connected', onConnected);
    });
  }

  /** One request, answered or rejected; no retry. */
  request<T = unknown>(type: string, payload: object = {}, options: { idempotencyKey?: string } = {}): Promise<T> {
    const socket = this.socket;
    if (!this.ready || socket === undefined || socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new HubRequestError({ code: 'disconnected', message: 'not connected to a hub' }));
    }
    return this.send<T>(socket, type, payload, options.idempotencyKey);
  }

  /**
   * A mutating request that survives reconnects: retried with one idempotency key until the hub
   * answers or `deadlineMs` passes, so it takes effect exactly once.
   */
  async call<T = unknown>(
    type: string,
    payload: object,
    options: { idempotencyKey?: string; deadlineMs?: number } = {},
  ): Promise<T> {
    const idempotencyKey = options.idempotencyKey ?? randomUUID();
    const deadline = Date.now() + (options.deadlineMs ?? 30_000);
    for (let attempt = 0; ; attempt++) {
      try {
        if (!this.ready) await this.waitConnected(Math.max(1, deadline - Date.now()));
        return await this.request<T>(type, payload, { idempotencyKey });
      } catch (error) {
        const retryable = error instanceof HubRequestError && RETRYABLE.has(error.code) && !this.stopped;
        if (!retryable || Date.now() >= deadline) throw error;
        await sleep(Math.min(backoffDelay(attempt, { initialMs: 20, maxMs: 500 }), Math.max(0, deadline - Date.now())));
      }
    }
  }

  sendDm(
    to: string,
    body: unknown,
    options: { idempotencyKey?: string; deadlineMs?: number } = {},
  ): Promise<SendReceipt> {
    return this.call<SendReceipt>('dm.send', { to, body }, options);
  }

  /** Closes for good; pending requests fail with `closed`. */
  close(): void {
    this.stopped = true;
    this.flushAck();
    this.socket?.close(1000, 'client closing');
    this.failPending('closed', 'the client was closed');
    this.emit('closed', 'closed by the application');
  }

  private async connectLoop(): Promise<void> {
    const maxAttempts = this.options.maxReconnectAttempts ?? 1000;
    for (let attempt = 0; attempt < maxAttempts && !this.stopped; attempt++) {
      const url = this.options.urls[this.urlIndex % this.options.urls.length]!;
      try {
        await this.open(url);
        return;
      } catch (error) {
        this.urlIndex++;
        // A limit that refused the hello says when trying again can succeed; sooner only costs more.
        const wait = error instanceof HubRequestError ? (error.retryAfterMs ?? 0) : 0;
        await sleep(Math.max(wait, backoffDelay(attempt, this.options.backoff)));
      }
    }
    if (!this.stopped) {
      this.stopped = true;
      this.emit('closed', `gave up after ${maxAttempts} connection attempts`);
    }
  }

  private open(url: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, {
        handshakeTimeout: 5_000,
        maxPayload: 64 * 1024 * 1024,
        ...(this.options.localAddress === undefined ? {} : { localAddress: this.options.localAddress }),
      });
      let helloDone = false;
      socket.on('message', (data) => this.onFrame(data.toString()));
      socket.once('error', (error) => {
        if (!helloDone) reject(error);
      });
      socket.once('close', (code, reasonBuffer) => {
        const reason = reasonBuffer.toString();
        if (this.socket === socket) this.onDisconnect(code, reason);
        if (!helloDone) reject(new Error(`closed during hello: ${code} ${reason}`));
      });
      socket.once('open', () => {
        this.socket = socket;
        const adopt = (hello: HelloReply) => {
          helloDone = true;
          this.hello = hello;
          // A fresh client adopts the hub's acknowledged position; it never goes back before its own.
          this.lastSeq = Math.max(this.lastSeq, hello.resumeAfter);
          this.ackedSeq = Math.max(this.ackedSeq, hello.ackedSeq);
          this.outOfOrder.clear();
          this.ready = true;
        };
        const hello = { apiKey: this.options.apiKey, agent: this.options.agent, resume: { lastSeq: this.lastSeq } };
        this.send<HelloReply>(socket, 'hello', hello, undefined, adopt as (payload: unknown) => void).then(
          (reply) => {
            this.emit('connected', reply);
            resolve();
          },
          (error: unknown) => {
            socket.terminate();
            if (error instanceof HubRequestError && error.code === 'unauthorized') {
              this.stopped = true;
              this.emit('closed', error.message);
            }
            reject(error instanceof Error ? error : new Error(String(error)));
          },
        );
      });
    });
  }

  private onDisconnect(code: number, reason: string): void {
    this.ready = false;
    this.socket = undefined;
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    this.failPending('disconnected', `connection closed (${code} ${reason})`);
    this.emit('disconnected', { code, reason });
    if (this.stopped) return;
    if (FATAL_CLOSE_CODES.has(code)) {
      this.stopped = true;
      this.emit('closed', `closed by the hub: ${code} ${reason}`);
      return;
    }
    this.urlIndex++;
    void this.connectLoop();
  }

  private send<T>(
    socket: WebSocket,
    type: string,
    payload: object,
    idempotencyKey?: string,
    onReply?: (payload: unknown) => void,
  ): Promise<T> {
    const id = `r${++this.nextId}`;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new HubRequestError({ code: 'timeout', message: `no reply to ${type} within the request timeout` }));
      }, this.options.requestTimeoutMs ?? 10_000);
      this.pending.set(id, { onReply, resolve: resolve as (p: unknown) => void, reject, timer });
      socket.send(JSON.stringify({ type, id, payload, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) }));
    });
  }

  private failPending(code: string, message: string): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new HubRequestError({ code, message }));
      this.pending.delete(id);
    }
  }

  private onFrame(text: string): void {
    let frame: { type?: string; id?: string; ok?: boolean; payload?: unknown; error?: ErrorBody; event?: string };
    try {
      frame = JSON.parse(text) as typeof frame;
    } catch {
      return;
    }
    if (frame.type === 'reply' && typeof frame.id === 'string') {
      const pending = this.pending.get(frame.id);
      if (pending === undefined) return;
      this.pending.delete(frame.id);
      clearTimeout(pending.timer);
      if (frame.ok === true) {
        pending.onReply?.(frame.payload);
        pending.resolve(frame.payload);
      } else
        pending.reject(new HubRequestError(frame.error ?? { code: 'internal', message: 'error reply without a body' }));
    } else if (frame.type === 'event' && typeof frame.event === 'string') {
      if (frame.event === 'dm') this.onDm(frame.payload as DirectMessage);
      else this.emit('event', frame.event, frame.payload);
    }
  }

  private onDm(message: DirectMessage): void {
    if (message.seq <= this.lastSeq) {
      this.duplicatesDropped++;
      this.scheduleAck();
      return;
    }
    if (message.seq > this.lastSeq + 1) {
      this.outOfOrder.set(message.seq, message);
      void this.fillGap();
      return;
    }
    this.deliver(message);
    this.deliverBuffered();
  }

  /** Delivers the buffered messages that now follow on, and forgets those already delivered. */
  private deliverBuffered(): void {
    for (const seq of this.outOfOrder.keys()) if (seq <= this.lastSeq) this.outOfOrder.delete(seq);
    for (
      let next = this.outOfOrder.get(this.lastSeq + 1);
      next !== undefined;
      next = this.outOfOrder.get(this.lastSeq + 1)
    ) {
      this.outOfOrder.delete(next.seq);
      this.deliver(next);
    }
  }

  private deliver(message: DirectMessage): void {
    this.lastSeq = message.seq;
    this.emit('dm', message);
    this.scheduleAck();
  }

  /*
   * The hub sends in order on one connection, so a gap is rare; the missing messages are fetched.
   * What the fetch returns is everything the hub holds after lastSeq, in order: a seq it skips was
   * never assigned (the jump after a database failover or restore), so those messages follow on.
   */
  private async fillGap(): Promise<void> {
    if (this.filling) return;
    this.filling = true;
    try {
      for (let round = 0; round < 100 && this.outOfOrder.size > 0 && this.ready; round++) {
        const { messages } = await this.request<{ messages: DirectMessage[] }>('dm.fetch', {
          afterSeq: this.lastSeq,
          limit: 500,
        });
        if (messages.length === 0) break;
        for (const message of messages) if (message.seq > this.lastSeq) this.deliver(message);
        this.deliverBuffered();
      }
    } catch {
      // A reconnect resumes from lastSeq, which refills the gap anyway.
    } finally {
      this.filling = false;
    }
  }

  private scheduleAck(): void {
    if (this.ackTimer !== undefined) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      this.flushAck();
    }, this.options.ackDelayMs ?? 20);
  }

  private flushAck(): void {
    if (this.lastSeq <= this.ackedSeq || !this.ready) return;
    const seq = this.lastSeq;
    this.request<{ ackedSeq: number }>('dm.ack', { seq }).then(
      (reply) => (this.ackedSeq = Math.max(this.ackedSeq, reply.ackedSeq)),
      () => undefined,
    );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
