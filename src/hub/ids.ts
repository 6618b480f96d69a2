import { randomBytes } from 'node:crypto';

/** Random, URL-safe ids with a type prefix: ten_, flt_, key_, ag_, tsk_, conn_. */
export function newId(prefix: 'ten' | 'flt' | 'key' | 'ag' | 'tsk' | 'conn'): string {
  return `${prefix}_${randomBytes(12).toString('base64url')}`;
}
