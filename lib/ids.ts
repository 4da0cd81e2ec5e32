// Identifier minting. Ids are `[A-Za-z0-9_-]` only, so the same id is valid in a NATS subject
// token, a KV key, a consumer name and a Realtime event (item ids stay <= 32 characters).
import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function encode(bytes: Uint8Array, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[(bytes[i] ?? 0) % ALPHABET.length];
  return out;
}

export function randomToken(length = 22): string {
  return encode(randomBytes(length), length);
}

export type IdKind = 'sess' | 'item' | 'resp' | 'event' | 'conv' | 'call' | 'ek';

/** `sess_Ab3…`: 22 random characters after the prefix (~131 bits). */
export function newId(kind: IdKind, length = 22): string {
  return `${kind}_${randomToken(length)}`;
}

/**
 * A deterministic id derived from stable inputs: a redelivered message mints the same id again,
 * which is what makes at-least-once processing idempotent downstream.
 */
export function derivedId(kind: IdKind, ...parts: Array<string | number>): string {
  const digest = createHash('sha256').update(parts.join('\u0000')).digest();
  return `${kind}_${encode(digest, 22)}`;
}

const SAFE_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function isSafeId(id: string): boolean {
  return SAFE_ID.test(id);
}

/** Monotonic event ids per process: cheap, unique, and sortable within a session. */
export function eventIdFactory(): () => string {
  const base = randomToken(10);
  let n = 0;
  return () => `event_${base}${(n++).toString(36)}`;
}
