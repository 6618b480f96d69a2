/* Raw TCP conversations with a hub listener, for requests no HTTP client would send. */
import { connect, type Socket } from 'node:net';

/** Sends bytes and collects whatever comes back until the server closes or `waitMs` passes. */
export function exchange(port: number, request: string | Buffer, waitMs = 1_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(received);
    };
    const timer = setTimeout(done, waitMs);
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('error', done);
    socket.on('close', done);
    socket.write(request);
  });
}

/** The status line's code of a raw HTTP answer, or 0 when the server answered nothing. */
export const statusOf = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);

/** Connects, writes `bytes`, then resets the connection (TCP RST) after `afterMs`. */
export function writeThenReset(port: number, bytes: string | Buffer, afterMs: number): Promise<void> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1', () => {
      if (bytes.length > 0) socket.write(bytes);
      setTimeout(() => socket.resetAndDestroy(), afterMs);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
}
