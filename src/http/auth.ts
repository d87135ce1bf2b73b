/**
 * @module http/auth
 * API keys → tenants. Keys are kept as SHA-256 hashes and compared in constant time. With no
 * keys configured the server (bound to loopback only) serves the single local tenant.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { AppError } from '../errors.js';
import { requestHeader } from './headers.js';

export interface AuthVariables {
  tenantId: string;
}

export interface AuthOptions {
  keys: readonly { key: string; tenantId: string }[];
  /** The tenant served when no keys are configured. */
  localTenant: string;
}

// One-shot hashing: a third cheaper than a Hash object, and this runs on every request.
const sha256 = (s: string): Buffer => hash('sha256', s, 'buffer');

export function auth(options: AuthOptions): MiddlewareHandler<{ Variables: AuthVariables }> {
  const hashed = options.keys.map((k) => ({ hash: sha256(k.key), tenantId: k.tenantId }));
  return async (c, next) => {
    if (hashed.length === 0) {
      c.set('tenantId', options.localTenant);
      return next();
    }
    const header = requestHeader(c, 'authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) throw new AppError('unauthorized', 'Send Authorization: Bearer <api key>');
    const presented = sha256(match[1]);
    let tenantId: string | null = null;
    // Compare against every key so the time taken does not tell which one matched.
    for (const k of hashed) if (timingSafeEqual(k.hash, presented)) tenantId = k.tenantId;
    if (tenantId === null) throw new AppError('unauthorized', 'Unknown API key');
    c.set('tenantId', tenantId);
    return next();
  };
}
