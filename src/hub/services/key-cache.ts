import type { KeyScope } from './accounts.ts';

/**
 * Scopes of valid API keys by key hash, so a reconnecting fleet costs no key lookups. Only keys that
 * authenticated are held (a stranger's guesses never fill it), at most `maxEntries`, each for `ttlMs`.
 * A revocation evicts the key on every replica through the bus; should that message be lost, the
 * TTL bounds how long a revoked key still opens sessions.
 */
export class KeyCache {
  private readonly entries = new Map<string, { scope: KeyScope; expiresAt: number }>();
  private revocations = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /**
   * Counts revocations: a lookup that started before one may have read the key while it was still
   * valid, so `set` is given the count from before the lookup and caches nothing if it moved.
   */
  get generation(): number {
    return this.revocations;
  }

  get(hash: Buffer): KeyScope | undefined {
    const id = hash.toString('base64');
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt > this.clock()) return entry.scope;
    this.entries.delete(id);
    return undefined;
  }

  set(hash: Buffer, scope: KeyScope, generation: number): void {
    if (this.ttlMs === 0 || generation !== this.revocations) return;
    const id = hash.toString('base64');
    this.entries.delete(id);
    // Maps iterate in insertion order: the first entry is the oldest.
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(id, { scope, expiresAt: this.clock() + this.ttlMs });
  }

  /** Drops every key, for when revocations may have been missed. */
  clear(): void {
    this.revocations++;
    this.entries.clear();
  }

  forgetKey(keyId: string): void {
    this.revocations++;
    for (const [id, entry] of this.entries) if (entry.scope.keyId === keyId) this.entries.delete(id);
  }
}
