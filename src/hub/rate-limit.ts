import type { RateLimits } from './config.ts';
import { HubError } from './protocol/errors.ts';

export type RateRule = 'rate_messages' | 'rate_tasks' | 'rate_memory_writes';

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * Per-agent token buckets refilled continuously: a full minute's allowance may be spent at once,
 * then it comes back at limit/60 per second. Buckets are kept per agent rather than per connection
 * so reconnecting does not reset them; an agent holds one session at a time, so one replica sees it.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMinute: Record<RateRule, number>;

  constructor(limits: RateLimits) {
    this.perMinute = {
      rate_messages: limits.messagesPerMinute,
      rate_tasks: limits.tasksPerMinute,
      rate_memory_writes: limits.memoryWritesPerMinute,
    };
  }

  /** Takes one token or throws `rate_limited` naming the rule and when to retry. */
  take(agentId: string, rule: RateRule, now = Date.now()): void {
    const limit = this.perMinute[rule];
    const key = `${agentId}:${rule}`;
    const bucket = this.buckets.get(key) ?? { tokens: limit, updatedAt: now };
    bucket.tokens = Math.min(limit, bucket.tokens + ((now - bucket.updatedAt) * limit) / 60_000);
    bucket.updatedAt = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    const retryAfterMs = Math.ceil(((1 - bucket.tokens) * 60_000) / limit);
    throw new HubError('rate_limited', `rule ${rule}: at most ${limit} per minute per agent`, {
      rule,
      retryAfterMs,
    });
  }

  /** Forgets buckets that have refilled completely; they hold nothing a fresh bucket would not. */
  prune(now = Date.now()): void {
    for (const [key, bucket] of this.buckets) {
      const rule = key.slice(key.lastIndexOf(':') + 1) as RateRule;
      const limit = this.perMinute[rule];
      if (bucket.tokens + ((now - bucket.updatedAt) * limit) / 60_000 >= limit) this.buckets.delete(key);
    }
  }
}
