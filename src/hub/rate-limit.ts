import type { Redis } from 'ioredis';
import type { AbuseLimits, RateLimits, RateRuleName, RateScope } from './config.ts';
import { HubError } from './protocol/errors.ts';

/** A token bucket: `perMinute` tokens, all of which may be spent at once, refilled continuously. */
export interface Bucket {
  readonly key: string;
  readonly perMinute: number;
  /** Named in the error when this bucket is the one that is empty. */
  readonly rule: string;
  readonly scope: string;
}

export interface Refusal {
  readonly bucket: Bucket;
  /** Until the bucket holds a whole token again. */
  readonly retryAfterMs: number;
}

/**
 * Buckets shared by every replica (Redis) or held in this process (embedded mode). `take` takes one
 * token from each bucket, or from none when any of them is short, so a refused request costs nothing;
 * `check` only asks whether a token is there; `debit` takes one whatever the level, down to a minute's
 * worth of debt, for failures that happened already and must all count.
 */
export type BucketMode = 'take' | 'check' | 'debit';

export interface BucketStore {
  take(buckets: readonly Bucket[], mode: BucketMode): Promise<Refusal | undefined>;
}

const refill = (tokens: number, perMinute: number, elapsedMs: number) =>
  Math.min(perMinute, tokens + (elapsedMs * perMinute) / 60_000);
const waitFor = (tokens: number, perMinute: number) => Math.ceil(((1 - tokens) * 60_000) / perMinute);

export function createMemoryBucketStore(clock: () => number = Date.now): BucketStore & { prune(): void } {
  const buckets = new Map<string, { tokens: number; updatedAt: number; perMinute: number }>();
  return {
    async take(wanted, mode) {
      const now = clock();
      const levels = wanted.map((b) => {
        const held = buckets.get(b.key);
        return held === undefined ? b.perMinute : refill(held.tokens, b.perMinute, now - held.updatedAt);
      });
      let refusal: Refusal | undefined;
      wanted.forEach((bucket, i) => {
        const retryAfterMs = levels[i]! < 1 ? waitFor(levels[i]!, bucket.perMinute) : 0;
        if (retryAfterMs > (refusal?.retryAfterMs ?? 0)) refusal = { bucket, retryAfterMs };
      });
      if (mode === 'check' || (mode === 'take' && refusal !== undefined)) return refusal;
      wanted.forEach((b, i) =>
        buckets.set(b.key, { tokens: Math.max(levels[i]! - 1, -b.perMinute), updatedAt: now, perMinute: b.perMinute }),
      );
      return mode === 'debit' ? undefined : refusal;
    },
    /** Forgets buckets that have refilled: they hold nothing a fresh bucket would not. */
    prune() {
      const now = clock();
      for (const [key, b] of buckets) {
        if (refill(b.tokens, b.perMinute, now - b.updatedAt) >= b.perMinute) buckets.delete(key);
      }
    },
  };
}

/*
 * One script call per request, atomic across the buckets, on Redis's clock so replicas agree. Each
 * bucket expires when it would be full again, so idle clients leave nothing behind.
 * Returns {0, 0} when taken (or, in check mode, available), else {retryAfterMs, index of the bucket};
 * a debit is always taken.
 */
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local mode = ARGV[1]
local levels = {}
local wait, worst = 0, 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[i + 1])
  local held = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = limit
  if held[1] then tokens = math.min(limit, tonumber(held[1]) + (now - tonumber(held[2])) * limit / 60000) end
  levels[i] = tokens
  if tokens < 1 then
    local ms = math.ceil((1 - tokens) * 60000 / limit)
    if ms > wait then wait, worst = ms, i end
  end
end
if mode == 'check' or (mode == 'take' and wait > 0) then return {wait, worst} end
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[i + 1])
  local tokens = math.max(levels[i] - 1, -limit)
  redis.call('HSET', key, 'tokens', tostring(tokens), 'at', now)
  redis.call('PEXPIRE', key, math.ceil((limit - tokens) * 60000 / limit) + 1000)
end
return {0, 0}
`;

export function createRedisBucketStore(redis: Redis): BucketStore {
  return {
    async take(wanted, mode) {
      const [wait, index] = (await redis.eval(
        TAKE,
        wanted.length,
        ...wanted.map((b) => `rf:rate:${b.key}`),
        mode,
        ...wanted.map((b) => String(b.perMinute)),
      )) as [number, number];
      return wait > 0 && mode !== 'debit' ? { bucket: wanted[index - 1]!, retryAfterMs: wait } : undefined;
    },
  };
}

/** Who a request is counted against: the agent (unknown during hello), its API key, its tenant. */
export interface RateSubject {
  readonly agentId?: string;
  readonly keyId: string;
  readonly tenantId: string;
}

const SCOPES: readonly RateScope[] = ['agent', 'key', 'tenant'];
const RULE_NAMES: Record<RateRuleName, string> = {
  requests: 'rate_requests',
  messages: 'rate_messages',
  tasks: 'rate_tasks',
  memoryWrites: 'rate_memory_writes',
};
export type RateRule = Exclude<RateRuleName, 'requests'>;

function refused(refusal: Refusal, message: string): HubError {
  return new HubError('rate_limited', message, {
    rule: refusal.bucket.rule,
    scope: refusal.bucket.scope,
    retryAfterMs: refusal.retryAfterMs,
  });
}

/**
 * Every limit a client cannot choose its way around: agent requests count against the agent, its
 * API key and its tenant at once (a new agent name gets a fresh agent bucket, not fresh key or
 * tenant buckets); failed authentications count against the remote address.
 */
export class RateLimiter {
  constructor(
    private readonly store: BucketStore,
    private readonly rates: RateLimits,
    private readonly limits: AbuseLimits,
  ) {}

  /** Takes a `requests` token, plus one of `rule` when given, in every scope; throws `rate_limited`. */
  async request(subject: RateSubject, rule?: RateRule): Promise<void> {
    const ids: Record<RateScope, string | undefined> = {
      agent: subject.agentId,
      key: subject.keyId,
      tenant: subject.tenantId,
    };
    const scopes = SCOPES.filter((scope) => ids[scope] !== undefined);
    const buckets = (rule === undefined ? ['requests' as const] : (['requests', rule] as const)).flatMap((name) =>
      scopes.map((scope) => ({
        key: `${scope}:${ids[scope]}:${name}`,
        perMinute: this.rates[name][scope],
        rule: RULE_NAMES[name],
        scope,
      })),
    );
    const refusal = await this.store.take(buckets, 'take');
    if (refusal !== undefined) {
      const { rule: name, scope, perMinute } = refusal.bucket;
      throw refused(refusal, `rule ${name}: at most ${perMinute} per minute per ${scope}`);
    }
  }

  /** Per-minute allowances by rule name and scope, as the hello reply tells agents. */
  describe(): Record<string, Record<RateScope, number>> {
    return Object.fromEntries(
      (Object.keys(RULE_NAMES) as RateRuleName[]).map((name) => [RULE_NAMES[name], { ...this.rates[name] }]),
    );
  }

  /** Throws while the address has used up its failed authentications; a success costs nothing. */
  async authAllowed(address: string): Promise<void> {
    const refusal = await this.store.take([this.authBucket(address)], 'check');
    if (refusal !== undefined) {
      throw refused(
        refusal,
        `rule auth_failures: at most ${this.limits.authFailuresPerMinute} failed authentications per minute per address`,
      );
    }
  }

  /** Every failure counts, also those of attempts made in parallel before the first was refused. */
  async authFailed(address: string): Promise<void> {
    await this.store.take([this.authBucket(address)], 'debit');
  }

  /** One admin API request; the admin token is one key, so this bounds the whole admin API. */
  async adminRequest(): Promise<void> {
    const perMinute = this.limits.adminRequestsPerMinute;
    const refusal = await this.store.take(
      [{ key: 'admin:requests', perMinute, rule: 'rate_admin', scope: 'admin_token' }],
      'take',
    );
    if (refusal !== undefined)
      throw refused(refusal, `rule rate_admin: at most ${perMinute} admin requests per minute`);
  }

  private authBucket(address: string): Bucket {
    return {
      key: `address:${address}:auth`,
      perMinute: this.limits.authFailuresPerMinute,
      rule: 'auth_failures',
      scope: 'address',
    };
  }
}
