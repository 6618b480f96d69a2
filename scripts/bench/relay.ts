/*
 * The bare relay: the least a server on this stack (Node, `ws`, Redis pub/sub) can do for fan-out.
 * Every frame a client sends is published to one Redis channel; every message on that channel is
 * written to every socket of this process, as it came. No authentication, parsing or limits: it is
 * the ceiling the hub is measured against, never something to deploy.
 * `tsx scripts/bench/relay.ts <redis-url> <port>` listens on 127.0.0.1:<port>.
 */
import { Redis } from 'ioredis';
import { WebSocketServer } from 'ws';

const CHANNEL = 'bench:relay';

const [redisUrl, port] = process.argv.slice(2);
if (redisUrl === undefined || port === undefined) throw new Error('usage: relay.ts <redis-url> <port>');
const publisher = new Redis(redisUrl);
const subscriber = new Redis(redisUrl);
await subscriber.subscribe(CHANNEL);

const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(port), perMessageDeflate: false });
subscriber.on('messageBuffer', (_channel: Buffer, message: Buffer) => {
  for (const ws of wss.clients) ws.send(message, { binary: false });
});
wss.on('connection', (ws) => {
  ws.on('message', (data: Buffer) => void publisher.publish(CHANNEL, data));
  ws.on('error', () => ws.terminate());
});
process.on('SIGTERM', () => process.exit(0));
