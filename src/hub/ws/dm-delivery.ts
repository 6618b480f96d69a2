import type { DirectMessage, Messages } from '../services/messages.ts';

const BATCH = 200;

/**
 * Sends one session its direct messages strictly in sequence order. A live notification that is the
 * next expected message is sent at once; anything else (a gap, a notification overtaken by another
 * replica's, the backlog after connecting) is read from the table. Seqs commit in order, so the table
 * never shows a gap that later fills: what it skips (a timeline jump) stays skipped. The client
 * deduplicates by seq.
 * The sent position moves only once a frame is really handed to the socket; `send` answers false
 * when the session is closing, and whatever was not sent goes out on the agent's next session.
 */
export class DmDelivery {
  private pumping = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly agentId: string,
    private sentSeq: number,
    private readonly messages: Messages,
    private readonly send: (message: DirectMessage) => boolean,
    private readonly bufferedBytes: () => number,
    /** Backlog delivery waits while the socket holds more than this, well below the slow-consumer cap. */
    private readonly highWaterBytes: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  notify(message: DirectMessage): void {
    if (this.stopped || message.seq <= this.sentSeq) return;
    if (!this.pumping && message.seq === this.sentSeq + 1) {
      try {
        if (this.send(message)) this.sentSeq = message.seq;
      } catch (error) {
        this.onError(error);
      }
      return;
    }
    void this.pump();
  }

  /** Reads and sends everything after the last sent seq; concurrent calls fold into one more pass. */
  async pump(): Promise<void> {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        for (let pass = 0; pass < 10_000 && !this.stopped; pass++) {
          const batch = await this.messages.after(this.agentId, this.sentSeq, BATCH);
          for (const message of batch) {
            if (this.bufferedBytes() > this.highWaterBytes) await this.waitForSocket();
            if (this.stopped) break;
            if (!this.send(message)) return;
            this.sentSeq = message.seq;
          }
          if (batch.length < BATCH) break;
        }
      } while (this.again && !this.stopped);
    } catch (error) {
      this.onError(error);
    } finally {
      this.pumping = false;
    }
  }

  stop(): void {
    this.stopped = true;
  }

  /* A slow reader must not make the hub buffer its whole backlog in memory. */
  private async waitForSocket(): Promise<void> {
    for (let i = 0; i < 600 && !this.stopped && this.bufferedBytes() > this.highWaterBytes; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
