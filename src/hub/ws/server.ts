import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { clientAddress, requestTarget } from '../net/client-address.ts';
import { LIMITS } from '../protocol/limits.ts';
import type { Services } from '../services/services.ts';
import { ConnectionSlots, OutboundBudget } from './admission.ts';
import { SessionRegistry } from './registry.ts';
import { Session } from './session.ts';

export const WS_PATH = '/ws';

/**
 * Frames up to twice the protocol limit are read and answered with a `frame_size` limit error that
 * names the rule; anything larger is cut off by the socket layer (close code 1009) before it is buffered.
 */
const HARD_FRAME_CAP_BYTES = 2 * LIMITS.frameBytes;

function refuse(socket: Duplex, status: string, headers = ''): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n${headers}\r\n`);
}

export class AgentGateway {
  readonly registry: SessionRegistry;
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: HARD_FRAME_CAP_BYTES,
    perMessageDeflate: false,
  });
  private readonly sessions = new Set<Session>();
  private readonly slots: ConnectionSlots;
  private readonly outbound: OutboundBudget;
  private accepting = true;
  private readonly pinger: NodeJS.Timeout;
  private readonly refresher: NodeJS.Timeout;

  constructor(
    server: Server,
    private readonly services: Services,
    /** Whether the hub can serve sessions now (not while its database is a standby); else upgrades get 503. */
    private readonly serving: () => boolean = () => true,
  ) {
    this.registry = new SessionRegistry(services);
    this.slots = new ConnectionSlots(services.config.limits);
    this.outbound = new OutboundBudget(services.config.limits.outboundBufferBytes, (bytes) =>
      services.metrics.outboundBytes.set(bytes),
    );
    server.on('upgrade', (request, socket, head) => this.upgrade(request, socket, head));
    // Notices published while the bus was down are lost: each session reads its DMs from the table.
    services.bus.onRestored(() => {
      for (const session of this.sessions) session.catchUp();
    });
    this.pinger = setInterval(() => this.pingAll(), services.config.wsPingIntervalMs);
    // Presence entries expire unless refreshed; a third of the TTL leaves room for two missed refreshes.
    this.refresher = setInterval(() => void this.refreshPresence(), Math.floor(services.config.presenceTtlMs / 3));
  }

  get connections(): number {
    return this.sessions.size;
  }

  /** New WebSocket upgrades are answered 503 from now on. */
  refuseNewConnections(): void {
    this.accepting = false;
  }

  /** Refuses new connections, then drains every session (answers in-flight requests, closes with 1012). */
  async drain(): Promise<void> {
    this.accepting = false;
    clearInterval(this.pinger);
    clearInterval(this.refresher);
    await this.drainSessions('hub restarting: reconnect');
  }

  /** Drains every session open now, with `reason` in the 1012 close frame; the gateway itself carries on. */
  async drainSessions(reason: string): Promise<void> {
    await Promise.all([...this.sessions].map((session) => session.drain(reason)));
  }

  /** Waits until every socket has closed, or terminates the stragglers when the deadline passes. */
  async closeAll(deadline: number): Promise<void> {
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const session of this.sessions) session.terminate();
    this.wss.close();
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A client may reset the connection at any moment; the error must not escape from this socket.
    socket.on('error', (error) => this.services.log.debug({ err: error.message }, 'upgrade socket error'));
    if (requestTarget(request.url)?.path !== WS_PATH) return refuse(socket, '404 Not Found');
    if (!this.accepting || !this.serving()) return refuse(socket, '503 Service Unavailable');
    const address = clientAddress(
      request,
      this.services.config.trustedProxies,
      this.services.config.clientAddressHeader,
    );
    const release = this.slots.forSocket(address);
    if (typeof release === 'string') {
      this.services.metrics.connectionsRefused.inc({ rule: release });
      return refuse(
        socket,
        release === 'connections' ? '503 Service Unavailable' : '429 Too Many Requests',
        'Retry-After: 10\r\n',
      );
    }
    // Released when the TCP connection ends, whether or not the handshake completed.
    socket.once('close', release);
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      const session = new Session(ws, this.services, this.registry, {
        address,
        slots: this.slots,
        outbound: this.outbound,
      });
      this.sessions.add(session);
      ws.once('close', () => this.sessions.delete(session));
    });
  }

  private pingAll(): void {
    for (const session of this.sessions) {
      if (!session.alive) session.terminate();
      else session.ping();
    }
  }

  private async refreshPresence(): Promise<void> {
    const fleets = this.registry.fleets();
    try {
      await Promise.all(
        [...fleets].map(([fleetId, sessions]) =>
          this.services.presence.refresh(
            fleetId,
            sessions.map((s) => s.presenceEntry()),
          ),
        ),
      );
      await this.services.accounts.touchAgents(this.registry.sessions().map((s) => s.identity.agentId));
    } catch (error) {
      this.services.log.warn({ err: error }, 'presence refresh failed');
    }
  }
}
