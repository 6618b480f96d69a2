/*
 * The three servers the fan-out comparison runs, each spoken with the fewest steps its protocol
 * allows: the hub (hello, then `activity.broadcast` to the fleet), Centrifugo v6 (connect,
 * subscribe, publish into one channel, newline-delimited JSON) and the bare relay (any frame is
 * forwarded to every socket).
 */
import type WebSocket from 'ws';
import { firstMessage, openSocket, type FanoutClient, type FanoutProtocol, type Stamp } from './fanout.ts';

/** Requests answered by a reply with the same id; each protocol names where the id is. */
class Replies {
  private next = 1;
  private readonly waiting = new Map<string, () => void>();

  id(): string {
    return `r${this.next++}`;
  }

  wait(id: string): Promise<void> {
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }

  settle(id: unknown): void {
    if (typeof id !== 'string' && typeof id !== 'number') return;
    const key = String(id);
    this.waiting.get(key)?.();
    this.waiting.delete(key);
  }
}

function client(ws: WebSocket, publish: FanoutClient['publish']): FanoutClient {
  return { publish, close: () => ws.terminate() };
}

export function hubProtocol(apiKey: string): FanoutProtocol {
  return {
    name: 'hub',
    async open(url, name, onStamp) {
      const ws = await openSocket(url);
      const hello = firstMessage(ws, (m) => (m.type === 'reply' && m.id === 'hello' ? m : undefined));
      ws.send(JSON.stringify({ type: 'hello', id: 'hello', payload: { apiKey, agent: { name } } }));
      const reply = await hello;
      if (reply.ok !== true) throw new Error(`hello refused: ${JSON.stringify(reply.error)}`);
      const replies = new Replies();
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as {
          type: string;
          id?: string;
          event?: string;
          payload?: { activity?: { data: Stamp } };
        };
        if (frame.type === 'reply') replies.settle(frame.id);
        else if (frame.event === 'activity' && frame.payload?.activity !== undefined)
          onStamp?.(frame.payload.activity.data);
      });
      return client(ws, (stamp) => {
        const id = replies.id();
        ws.send(JSON.stringify({ type: 'activity.broadcast', id, payload: { kind: 'bench', data: stamp } }));
        return replies.wait(id);
      });
    },
  };
}

const CHANNEL = 'bench';

export function centrifugoProtocol(): FanoutProtocol {
  return {
    name: 'centrifugo',
    async open(url, _name, onStamp) {
      const ws = await openSocket(url);
      const replies = new Replies();
      ws.on('message', (data) => {
        for (const line of data.toString().split('\n')) {
          if (line === '') continue;
          const message = JSON.parse(line) as { id?: number; push?: { pub?: { data: Stamp } } };
          // An empty object is the server's ping; the client answers with one.
          if (Object.keys(message).length === 0) ws.send('{}');
          else if (message.id !== undefined) replies.settle(message.id);
          else if (message.push?.pub !== undefined) onStamp?.(message.push.pub.data);
        }
      });
      const command = (body: Record<string, unknown>) => {
        const id = replies.id().slice(1);
        ws.send(JSON.stringify({ id: Number(id), ...body }));
        return replies.wait(id);
      };
      await command({ connect: {} });
      if (onStamp !== undefined) await command({ subscribe: { channel: CHANNEL } });
      return client(ws, (stamp) => command({ publish: { channel: CHANNEL, data: stamp } }));
    },
  };
}

export function relayProtocol(): FanoutProtocol {
  return {
    name: 'bare relay',
    async open(url, _name, onStamp) {
      const ws = await openSocket(url);
      if (onStamp !== undefined) ws.on('message', (data) => onStamp(JSON.parse(data.toString()) as Stamp));
      return client(ws, async (stamp) => {
        ws.send(JSON.stringify(stamp));
      });
    },
  };
}
