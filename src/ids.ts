/**
 * @module ids
 * Branded identifiers, minted at the edge by parsers, and time-ordered id generation.
 */
import { createHash, randomBytes } from 'node:crypto';

export type TenantId = string & { readonly __brand: 'TenantId' };
export type ActorId = string & { readonly __brand: 'ActorId' };
export type ContractId = string & { readonly __brand: 'ContractId' };
export type ArtifactId = string & { readonly __brand: 'ArtifactId' };

const CROCKFORD = '0123456789abcdefghjkmnpqrstvwxyz';
const TENANT_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ID_RE = /^[a-z]{2,4}_[0-9a-z]{10,40}$/;

function encodeTime(ms: number): string {
  let out = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return out;
}

// Random bytes are drawn in blocks: one system call per 256 ids instead of one per id.
let pool = Buffer.alloc(0);
let poolAt = 0;

function encodeRandom(bytes: number): string {
  if (poolAt + bytes > pool.length) {
    pool = randomBytes(4096);
    poolAt = 0;
  }
  let out = '';
  for (let i = 0; i < bytes; i++) out += CROCKFORD[(pool[poolAt + i] ?? 0) % 32];
  poolAt += bytes;
  return out;
}

/**
 * A new id `prefix_<10 chars of time><16 random chars>`: lexical order follows creation
 * time (millisecond resolution), which cursor pagination relies on.
 */
export function newId(prefix: string, nowMs: number = Date.now()): string {
  return `${prefix}_${encodeTime(nowMs)}${encodeRandom(16)}`;
}

/** A deterministic id from parts: the same parts always give the same id. */
export function derivedId(prefix: string, ...parts: (string | number)[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest();
  let out = '';
  for (let i = 0; i < 26; i++) out += CROCKFORD[(h[i] ?? 0) % 32];
  return `${prefix}_${out}`;
}

export function isTenantId(value: unknown): value is TenantId {
  return typeof value === 'string' && TENANT_RE.test(value);
}

export function isActorId(value: unknown): value is ActorId {
  return typeof value === 'string' && ID_RE.test(value);
}
