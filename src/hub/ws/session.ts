import type { RawData, WebSocket } from 'ws';
import { channels, type BusHandler } from '../bus/bus.ts';
import { newId } from '../ids.ts';
import { parseEnvelope, parsePayload, salvageId, type Reply, type Request } from '../protocol/envelope.ts';
import { HubError, type ErrorBody } from '../protocol/errors.ts';
import { checkAgentName, checkTags, jsonDepth, LIMITS, limitExceeded, RULES } from '../protocol/limits.ts';
import { helloSchema } from '../protocol/requests.ts';
import type { DirectMessage, DmNotice } from '../services/messages.ts';
import type { Services } from '../services/services.ts';
import type { TaskNotice } from '../services/tasks.ts';
import type { ConnectionSlots, OutboundBudget } from './admission.ts';
import { CLOSE, type AgentIdentity, type LiveSession } from './agent.ts';
import { DmDelivery } from './dm-delivery.ts';
import type { FleetFrame } from './fleet-frames.ts';
import { DmPosition, handlers, type HandlerContext } from './handlers.ts';
import type { SessionRegistry } from './registry.ts';

/** The next request waits while this much of the session's earlier output is still unread. */
const REPLY_HIGH_WATER_BYTES = 1024 * 1024;
/** A slow consumer gets this long to read up to its close frame before the socket is cut. */
const SLOW_CONSUMER_CLOSE_MS = 1_000;
/** Queued request frames beyond this pause reading the socket, so the client's sends back up instead. */
const QUEUED_HIGH_WATER_BYTES = 4 * 1024 * 1024;

interface SessionNotice {
  readonly kind: 'session';
  readonly connectionId: string;
}

type AgentNotice = DmNotice | TaskNotice | SessionNotice;

/** What the gateway knows about the connection before the agent says hello. */
export interface SessionContext {
  /** The client address limits are bound to. */
  readonly address: string;
  readonly slots: ConnectionSlots;
  readonly outbound: OutboundBudget;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One agent connection. Requests are answered one at a time in arrival order, so an agent's own
 * messages keep their order; events (DMs, activity, presence, tasks) are pushed in between.
 */
export class Session implements LiveSession {
  readonly connectionId = newId('conn');
  alive = true;
  private agent: AgentIdentity | undefined;
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;
  private queuedBytes = 0;
  private paused = false;
  private draining = false;
  private closed = false;
  private delivery: DmDelivery | undefined;
  private releaseSessionSlots: (() => void) | undefined;
  private status: 'online' | 'busy' = 'online';
  private load = 0;
  private readonly dms = new DmPosition();
  private readonly joinedAt = new Date().toISOString();
  private readonly helloTimer: NodeJS.Timeout;
  private readonly onAgentNotice: BusHandler = (notice) => this.handleAgentNotice(notice as AgentNotice);

  constructor(
    private readonly ws: WebSocket,
    private readonly services: Services,
    private readonly registry: SessionRegistry,
    private readonly context: SessionContext,
  ) {
    this.helloTimer = setTimeout(() => {
      if (this.agent === undefined) this.close(CLOSE.helloTimeout, 'no hello within the time limit');
    }, services.config.helloTimeoutMs);
    ws.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    ws.on('pong', () => (this.alive = true));
    ws.on('close', () => void this.onClose());
    ws.on('error', (error) => services.log.debug({ err: error.message, conn: this.connectionId }, 'socket error'));
  }

  get identity(): AgentIdentity {
    if (this.agent === undefined) throw new Error('session is not authenticated');
    return this.agent;
  }

  /** Stops taking requests, answers the ones already received, then tells the client to reconnect. */
  async drain(reason: string): Promise<void> {
    this.draining = true;
    await this.queue;
    this.close(CLOSE.serviceRestart, reason);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }

  ping(): void {
    this.alive = false;
    this.ws.ping();
  }

  presenceEntry() {
    const agent = this.identity;
    return {
      agentId: agent.agentId,
      name: agent.name,
      capabilities: agent.capabilities,
      tags: agent.tags,
      status: this.status,
      load: this.load,
      replicaId: this.services.config.replicaId,
      connectionId: this.connectionId,
      joinedAt: this.joinedAt,
    };
  }

  sendFleetFrame(frame: FleetFrame): void {
    this.sendData(frame.data);
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
    if (isBinary) return this.reply(null, new HubError('invalid_frame', 'frames must be UTF-8 text carrying JSON'));
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch {
      return this.reply(null, new HubError('invalid_frame', 'the frame is not valid JSON'));
    }
    const id = salvageId(parsed);
    if (bytes.length > LIMITS.frameBytes) {
      return this.reply(id, limitExceeded('frame_size', 'frame', `got ${bytes.length} bytes`));
    }
    const depth = jsonDepth(bytes);
    if (depth > LIMITS.jsonDepth) return this.reply(id, limitExceeded('json_depth', 'frame', `nests ${depth} deep`));
    let request: Request;
    try {
      request = parseEnvelope(parsed);
    } catch (error) {
      return this.reply(id, error);
    }
    if (this.draining) {
      return this.reply(id, new HubError('draining', 'this hub is restarting: retry after reconnecting'));
    }
    if (this.queued >= LIMITS.queuedRequests) {
      return this.reply(id, new HubError('overloaded', RULES.queued_requests, { rule: 'queued_requests' }));
    }
    this.queued++;
    this.queuedBytes += bytes.length;
    if (this.queuedBytes > QUEUED_HIGH_WATER_BYTES && !this.paused) {
      this.paused = true;
      this.ws.pause();
    }
    this.queue = this.queue
      .then(() => this.handle(request))
      .finally(() => {
        this.queued--;
        this.queuedBytes -= bytes.length;
        if (this.paused && this.queuedBytes <= QUEUED_HIGH_WATER_BYTES / 2) {
          this.paused = false;
          this.ws.resume();
        }
      });
  }

  /** Open and not being closed: requests of a client that has gone, or is being sent away, are dropped. */
  private get serving(): boolean {
    return !this.closed && this.ws.readyState === this.ws.OPEN;
  }

  private async handle(request: Request): Promise<void> {
    // A client that does not read its replies gets no more until it does: it cannot make the hub
    // hold replies for it.
    await this.readerKeepsUp();
    if (!this.serving) return;
    const started = performance.now();
    const known = request.type === 'hello' || Object.hasOwn(handlers, request.type);
    const type = known ? request.type : 'unknown';
    let outcome = 'ok';
    try {
      const result = await this.dispatch(request);
      if (result !== undefined) this.reply(request.id ?? null, undefined, result);
    } catch (error) {
      outcome = error instanceof HubError ? error.code : 'internal';
      this.reply(request.id ?? null, error);
    } finally {
      this.services.metrics.requestDuration.observe({ type, outcome }, (performance.now() - started) / 1000);
    }
  }

  private async readerKeepsUp(): Promise<void> {
    for (let ms = 5; this.serving && !this.draining && this.ws.bufferedAmount > REPLY_HIGH_WATER_BYTES;) {
      await sleep(ms);
      ms = Math.min(ms * 2, 200);
    }
  }

  private async dispatch(request: Request): Promise<unknown> {
    if (request.type === 'hello') return this.hello(request);
    if (this.agent === undefined) throw new HubError('unauthenticated', 'send hello with an API key first');
    const handler = Object.hasOwn(handlers, request.type) ? handlers[request.type] : undefined;
    if (handler === undefined)
      throw new HubError('unknown_type', `type: unknown request type ${JSON.stringify(request.type)}`);
    if (!handler.uncounted) await this.services.rateLimiter.request(this.agent, handler.rate);
    const ctx: HandlerContext = {
      agent: this.agent,
      services: this.services,
      dms: this.dms,
      setStatus: async ({ load, status }) => {
        this.load = load ?? this.load;
        this.status = status ?? this.status;
        await this.services.presence.refresh(this.identity.fleetId, [this.presenceEntry()]);
      },
    };
    return handler.run(ctx, request);
  }

  private async hello(request: Request): Promise<unknown> {
    if (this.agent !== undefined) throw new HubError('already_authenticated', 'this session already said hello');
    const payload = parsePayload(helloSchema, request.payload);
    checkAgentName(payload.agent.name);
    const capabilities = [...new Set(payload.agent.capabilities ?? [])];
    const tags = payload.agent.tags ?? [];
    checkTags(capabilities, 'payload.agent.capabilities');
    checkTags(tags, 'payload.agent.tags');
    const { accounts, bus, presence, messages, config, log, metrics, rateLimiter } = this.services;

    const scope = await this.authenticate(request, payload.apiKey);
    if (scope === undefined || this.closed) return undefined;
    const release = this.context.slots.forSession(scope.keyId, scope.tenantId);
    if (typeof release === 'string') {
      metrics.connectionsRefused.inc({ rule: release });
      this.reply(request.id ?? null, limitExceeded('connections', 'hello', `${release} is reached on this replica`));
      this.close(CLOSE.limited, release);
      return undefined;
    }
    let record;
    try {
      record = await accounts.upsertAgent(scope, payload.agent.name, capabilities, tags, config.limits.maxAgentsPerKey);
    } catch (error) {
      release();
      throw error;
    }
    if (this.closed) {
      release();
      return undefined;
    }
    this.releaseSessionSlots = release;
    this.agent = { ...scope, agentId: record.id, name: payload.agent.name, capabilities, tags };
    this.dms.acknowledged(record.ackedSeq);
    this.dms.seen(record.dmSeq);
    clearTimeout(this.helloTimer);

    await bus.subscribe(channels.agent(record.id), this.onAgentNotice);
    const previous = await this.registry.add(this);
    previous?.close(CLOSE.replaced, 'replaced by a newer session of this agent');
    await bus.publish(channels.agent(record.id), { kind: 'session', connectionId: this.connectionId });
    await presence.join(scope.fleetId, this.presenceEntry());
    // A close during the steps above may have cleaned up before they were done: undo them for good.
    if (this.closed) {
      await this.leaveFleet(this.agent);
      return undefined;
    }

    const resumeAfter = Math.min(record.dmSeq, Math.max(record.ackedSeq, payload.resume?.lastSeq ?? 0));
    this.delivery = new DmDelivery(
      record.id,
      resumeAfter,
      messages,
      (message) => this.deliver(message),
      () => this.ws.bufferedAmount,
      config.limits.sessionBufferBytes / 2,
      (error) => {
        metrics.internalErrors.inc({ where: 'request' });
        log.error({ err: error, agentId: record.id }, 'direct message delivery failed');
      },
    );
    log.info(
      { agentId: record.id, fleetId: scope.fleetId, tenantId: scope.tenantId, conn: this.connectionId },
      'agent connected',
    );
    this.reply(request.id ?? null, undefined, {
      agentId: record.id,
      tenantId: scope.tenantId,
      fleetId: scope.fleetId,
      replicaId: config.replicaId,
      connectionId: this.connectionId,
      dmSeq: record.dmSeq,
      ackedSeq: record.ackedSeq,
      resumeAfter,
      heartbeatIntervalMs: Math.floor(config.presenceTtlMs / 3),
      limits: LIMITS,
      rateLimits: rateLimiter.describe(),
    });
    void this.delivery.pump();
    void this.services.tasks
      .routeAfterJoin(scope.fleetId)
      .catch((error: unknown) => log.warn({ err: error, fleetId: scope.fleetId }, 'task routing failed'));
    return undefined;
  }

  /**
   * The key's scope, or undefined once the refusal is answered and the socket closing. An address
   * that keeps presenting bad keys is refused before its key is even looked at.
   */
  private async authenticate(request: Request, apiKey: string) {
    const { accounts, rateLimiter, metrics } = this.services;
    try {
      await rateLimiter.authAllowed(this.context.address);
      const scope = await accounts.authenticate(apiKey);
      // A hello costs its key and tenant a request: reconnecting in a loop is not free.
      await rateLimiter.request(scope);
      return scope;
    } catch (error) {
      if (!(error instanceof HubError)) throw error;
      if (error.code === 'unauthorized') await rateLimiter.authFailed(this.context.address);
      metrics.connectionsRefused.inc({ rule: error.details.rule ?? error.code });
      this.reply(request.id ?? null, error);
      this.close(error.code === 'unauthorized' ? CLOSE.unauthorized : CLOSE.limited, error.code);
      return undefined;
    }
  }

  private handleAgentNotice(notice: AgentNotice): void {
    switch (notice.kind) {
      case 'dm':
        this.delivery?.notify(notice.message);
        break;
      case 'task.assigned':
      case 'task.finished':
        this.push(notice.kind, notice.task);
        break;
      case 'session':
        if (notice.connectionId !== this.connectionId)
          this.close(CLOSE.replaced, 'replaced by a newer session of this agent');
        break;
    }
  }

  private deliver(message: DirectMessage): boolean {
    if (!this.push('dm', message)) return false;
    this.dms.seen(message.seq);
    this.services.metrics.dmDeliveries.inc();
    return true;
  }

  private push(event: string, payload: unknown): boolean {
    return this.send({ type: 'event', event, payload });
  }

  private reply(id: string | null, error?: unknown, payload?: unknown): void {
    if (error === undefined) {
      this.send({ type: 'reply', id, ok: true, payload: payload ?? {} } satisfies Reply);
      return;
    }
    let body: ErrorBody;
    if (error instanceof HubError) {
      body = error.toBody();
    } else {
      this.services.metrics.internalErrors.inc({ where: 'request' });
      this.services.log.error({ err: error, conn: this.connectionId }, 'request failed');
      body = { code: 'internal', message: 'internal error: the request may be retried' };
    }
    this.services.metrics.protocolErrors.inc({ code: body.code });
    this.send({ type: 'reply', id, ok: false, error: body } satisfies Reply);
  }

  /**
   * Writes one frame, or closes a client that reads too slowly; true when the frame was handed to
   * the socket. Bytes count against the session's and the replica's outbound budget until written.
   */
  private send(frame: object): boolean {
    return this.sendData(Buffer.from(JSON.stringify(frame), 'utf8'));
  }

  /** `send` for a frame already serialised, which may be shared by many sessions. */
  private sendData(data: Buffer): boolean {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return false;
    const bytes = data.length;
    const held = this.ws.bufferedAmount;
    const { outbound } = this.context;
    const overSession = held + bytes > this.services.config.limits.sessionBufferBytes;
    if (overSession || !outbound.admits(held, bytes)) {
      this.services.metrics.connectionsRefused.inc({ rule: 'slow_consumer' });
      this.close(CLOSE.slowConsumer, 'too slow: reconnect and resume');
      // The close frame waits behind what the client does not read; its bytes are freed at once or soon.
      setTimeout(() => this.terminate(), SLOW_CONSUMER_CLOSE_MS).unref();
      return false;
    }
    outbound.add(bytes);
    this.ws.send(data, { binary: false }, () => outbound.release(bytes));
    return true;
  }

  /** Sends whatever DMs are stored past the last one sent, e.g. after notices were lost. */
  catchUp(): void {
    void this.delivery?.pump();
  }

  private async onClose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.helloTimer);
    this.delivery?.stop();
    this.releaseSessionSlots?.();
    if (this.agent === undefined) return;
    await this.leaveFleet(this.agent);
    this.services.log.info({ agentId: this.agent.agentId, conn: this.connectionId }, 'agent disconnected');
  }

  /** Undoes what hello did in the fleet; each step is a no-op when it has nothing to undo. */
  private async leaveFleet(agent: AgentIdentity): Promise<void> {
    try {
      await this.services.bus.unsubscribe(channels.agent(agent.agentId), this.onAgentNotice);
      await this.registry.remove(this);
      await this.services.presence.leave(agent.fleetId, agent.agentId, agent.name, this.connectionId);
    } catch (error) {
      this.services.log.warn({ err: error, agentId: agent.agentId }, 'cleanup after disconnect failed');
    }
  }
}
