/*
 * Agents for load tests: the hub's own client (src/hub/client), with bounded connects, and a count
 * of the connections open right now for the progress line.
 */
import { HubClient } from '../../src/hub/client/client.ts';
import type { HelloReply } from '../../src/hub/client/types.ts';
import { withTimeout } from './bounded.ts';
import { sourceAddresses } from './source-addresses.ts';
import type { Target } from './stack.ts';

let open = 0;

/** Connections this process holds open right now. */
export const openConnections = () => open;

export interface Agent {
  readonly client: HubClient;
  readonly hello: HelloReply;
  /** Milliseconds from creating the client to the hello reply. */
  readonly connectMs: number;
  /** True once `close()` was called: a disconnect before that was not ours. */
  readonly closing: boolean;
  close(): void;
}

export interface ConnectOptions {
  /** @default 10000 */
  readonly timeoutMs?: number;
  /** Called when the connection drops without `close()`. */
  readonly onUnexpectedClose?: (why: { code: number; reason: string }) => void;
  /** The highest DM seq already processed: the hub resumes after it. @default 0 */
  readonly lastSeq?: number;
  /**
   * Called with the client before it connects, to add listeners: DMs the hub resumes with can
   * arrive in the same chunk as the hello reply, before `connectAgent` resolves.
   */
  readonly beforeConnect?: (client: HubClient) => void;
  /** What the agent can do: tasks are routed to agents with every capability they require. */
  readonly capabilities?: readonly string[];
  /** The local address to connect from. @default the kernel's choice */
  readonly localAddress?: string;
}

/** Connects one agent named `name` (unique per run: a second session of one agent replaces the first). */
export async function connectAgent(target: Target, name: string, options: ConnectOptions = {}): Promise<Agent> {
  const client = new HubClient({
    urls: [target.wsUrl],
    apiKey: target.apiKey,
    agent: { name, ...(options.capabilities === undefined ? {} : { capabilities: options.capabilities }) },
    ...(options.lastSeq === undefined ? {} : { lastSeq: options.lastSeq }),
    ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    // A load test counts a failed connect instead of hiding it behind retries.
    maxReconnectAttempts: 1,
    requestTimeoutMs: 10_000,
  });
  let closing = false;
  let counted = false;
  client.on('connected', () => {
    if (!counted) open++;
    counted = true;
  });
  client.on('disconnected', (why) => {
    if (counted) open--;
    counted = false;
    if (!closing) options.onUnexpectedClose?.(why);
  });
  const close = () => {
    if (closing) return;
    closing = true;
    client.close();
  };
  options.beforeConnect?.(client);
  const startedAt = performance.now();
  try {
    const hello = await withTimeout(client.connect(), options.timeoutMs ?? 10_000, `connecting ${name}`);
    const connectMs = performance.now() - startedAt;
    return {
      client,
      hello,
      connectMs,
      get closing() {
        return closing;
      },
      close,
    };
  } catch (error) {
    close();
    throw error;
  }
}

/**
 * Connects one agent per name, `concurrency` at a time, from source addresses taken round robin
 * (see source-addresses.ts) unless `options.localAddress` names one.
 */
export async function connectMany(
  target: Target,
  names: readonly string[],
  concurrency = 20,
  options: ConnectOptions = {},
): Promise<Agent[]> {
  const agents: Agent[] = new Array<Agent>(names.length);
  const addresses = options.localAddress === undefined ? sourceAddresses(target.wsUrl, names.length) : [];
  const optionsFor = (i: number): ConnectOptions =>
    addresses.length === 0 ? options : { ...options, localAddress: addresses[i % addresses.length]! };
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < names.length; i = next++) agents[i] = await connectAgent(target, names[i]!, optionsFor(i));
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, names.length) }, worker));
  } catch (error) {
    for (const agent of agents) agent?.close();
    throw error;
  }
  return agents;
}
