import type { RawData, WebSocket } from 'ws';
import { channels, type BusHandler } from '../bus/bus.ts';
import { newId } from '../ids.ts';
import { parseEnvelope, parsePayload, salvageId, type Reply, type Request } from '../protocol/envelope.ts';
import { HubError, type ErrorBody } from '../protocol/errors.ts';
import { checkAgentName, checkTags, LIMITS, limitExceeded, RULES } from '../protocol/limits.ts';
import { helloSchema } from '../protocol/requests.ts';
import type { PresenceEvent } from '../presence/presence.ts';
import type { DirectMessage, DmNotice } from '../services/messages.ts';
import type { Services } from '../services/services.ts';
import type { TaskNotice } from '../services/tasks.ts';
import { CLOSE, type AgentIdentity } from './agent.ts';
import { DmDelivery } from './dm-delivery.ts';
import { handlers, type ActivityNotice, type HandlerContext } from './handlers.ts';
import type { SessionRegistry } from './registry.ts';

const SLOW_CONSUMER_BYTES = 32 * 1024 * 1024;

interface SessionNotice {
  readonly kind: 'session';
  readonly connectionId: string;
}

type AgentNotice = DmNotice | TaskNotice | SessionNotice;

/**
 * One agent connection. Requests are answered one at a time in arrival order, so an agent's own
 * messages keep their order; events (DMs, activity, presence, tasks) are pushed in between.
 */
export class Session {
  readonly connectionId = newId('conn');
  alive = true;
  private agent: AgentIdentity | undefined;
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;
  private draining = false;
  private closed = false;
  private delivery: DmDelivery | undefined;
  private status: 'online' | 'busy' = 'online';
  private load = 0;
  private readonly joinedAt = Date.now();
  private readonly helloTimer: NodeJS.Timeout;
  private readonly onAgentNotice: BusHandler = (notice) => this.handleAgentNotice(notice as AgentNotice);

  constructor(
    private readonly ws: WebSocket,
    private readonly services: Services,
    private readonly registry: SessionRegistry,
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

  get authenticated(): boolean {
    return this.agent !== undefined;
  }

  /** Stops taking requests, answers the ones already received, then tells the client to reconnect. */
  async drain(): Promise<void> {
    this.draining = true;
    await this.queue;
    this.close(CLOSE.serviceRestart, 'hub restarting: reconnect');
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

  onFleetEvent(event: unknown): void {
    const notice = event as ActivityNotice | PresenceEvent;
    if (notice.kind === 'activity') {
      if (notice.from !== this.agent?.agentId) this.push('activity', notice);
    } else if (notice.kind === 'presence') {
      if (notice.agentId !== this.agent?.agentId) this.push(`presence.${notice.event}`, notice);
    }
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
    this.queue = this.queue
      .then(() => this.handle(request))
      .finally(() => {
        this.queued--;
      });
  }

  private async handle(request: Request): Promise<void> {
    const started = performance.now();
    const known = request.type === 'hello' || request.type in handlers;
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

  private async dispatch(request: Request): Promise<unknown> {
    if (request.type === 'hello') return this.hello(request);
    const handler = Object.hasOwn(handlers, request.type) ? handlers[request.type] : undefined;
    if (handler === undefined)
      throw new HubError('unknown_type', `type: unknown request type ${JSON.stringify(request.type)}`);
    if (this.agent === undefined) throw new HubError('unauthenticated', 'send hello with an API key first');
    if (handler.rate !== undefined) this.services.rateLimiter.take(this.agent.agentId, handler.rate);
    const ctx: HandlerContext = {
      agent: this.agent,
      services: this.services,
      setStatus: async ({ load, status }) => {
        this.load = load ?? this.load;
        this.status = status ?? this.status;
        await this.services.presence.refresh(this.identity.fleetId, this.presenceEntry());
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
    const { accounts, bus, presence, messages, config, log } = this.services;

    let scope;
    try {
      scope = await accounts.authenticate(payload.apiKey);
    } catch (error) {
      this.reply(request.id ?? null, error);
      this.close(CLOSE.unauthorized, 'unauthorized');
      return undefined;
    }
    if (this.closed) return undefined;
    const record = await accounts.upsertAgent(scope, payload.agent.name, capabilities, tags);
    this.agent = { ...scope, agentId: record.id, name: payload.agent.name, capabilities, tags };
    clearTimeout(this.helloTimer);

    await bus.subscribe(channels.agent(record.id), this.onAgentNotice);
    const previous = await this.registry.add(this);
    previous?.close(CLOSE.replaced, 'replaced by a newer session of this agent');
    await bus.publish(channels.agent(record.id), { kind: 'session', connectionId: this.connectionId });
    await presence.join(scope.fleetId, this.presenceEntry());

    const resumeAfter = Math.min(record.dmSeq, Math.max(record.ackedSeq, payload.resume?.lastSeq ?? 0));
    this.delivery = new DmDelivery(
      record.id,
      resumeAfter,
      messages,
      (message) => this.deliver(message),
      () => this.ws.bufferedAmount,
      (error) => log.error({ err: error, agentId: record.id }, 'direct message delivery failed'),
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
      rateLimits: config.rateLimits,
    });
    void this.delivery.pump();
    void this.services.tasks
      .routePending(scope.fleetId)
      .catch((error: unknown) => log.warn({ err: error, fleetId: scope.fleetId }, 'task routing failed'));
    return undefined;
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

  private deliver(message: DirectMessage): void {
    this.services.metrics.dmDeliveries.inc();
    this.push('dm', message);
  }

  private push(event: string, payload: unknown): void {
    this.send({ type: 'event', event, payload });
  }

  private reply(id: string | null, error?: unknown, payload?: unknown): void {
    if (error === undefined) return this.send({ type: 'reply', id, ok: true, payload: payload ?? {} } satisfies Reply);
    let body: ErrorBody;
    if (error instanceof HubError) {
      body = error.toBody();
    } else {
      this.services.log.error({ err: error, conn: this.connectionId }, 'request failed');
      body = { code: 'internal', message: 'internal error: the request may be retried' };
    }
    this.services.metrics.protocolErrors.inc({ code: body.code });
    this.send({ type: 'reply', id, ok: false, error: body } satisfies Reply);
  }

  private send(frame: object): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    if (this.ws.bufferedAmount > SLOW_CONSUMER_BYTES) {
      this.close(CLOSE.slowConsumer, 'too slow: reconnect and resume');
      return;
    }
    this.ws.send(JSON.stringify(frame));
  }

  private async onClose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.helloTimer);
    this.delivery?.stop();
    const agent = this.agent;
    if (agent === undefined) return;
    const { bus, presence, log } = this.services;
    try {
      await bus.unsubscribe(channels.agent(agent.agentId), this.onAgentNotice);
      await this.registry.remove(this);
      await presence.leave(agent.fleetId, agent.agentId, agent.name, this.connectionId);
    } catch (error) {
      log.warn({ err: error, agentId: agent.agentId }, 'cleanup after disconnect failed');
    }
    log.info({ agentId: agent.agentId, conn: this.connectionId }, 'agent disconnected');
  }
}
