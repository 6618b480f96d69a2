import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const KEY_PATTERN = /^rf_[A-Za-z0-9_-]{43}$/;

/** A new API key: `rf_` and 32 random bytes in base64url. Only its hash is ever stored. */
export function generateApiKey(): string {
  return `rf_${randomBytes(32).toString('base64url')}`;
}

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

export function looksLikeApiKey(key: string): boolean {
  return KEY_PATTERN.test(key);
}

/** Constant-time comparison of two secrets of any length (both are hashed to equal length first). */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(hashApiKey(a), hashApiKey(b));
}

export function hashesEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
