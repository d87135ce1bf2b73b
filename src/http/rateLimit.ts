/**
 * @module http/rateLimit
 * Per-tenant token buckets. Each tenant may spend `burst` requests at once and regains
 * `perSecond` a second; a request finding its bucket empty is answered `429 rate-limited` with
 * `Retry-After` (whole seconds until one token is back). Buckets live in this process: with
 * several processes each applies the limit to the requests it serves.
 */
import type { Context } from 'hono';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { problemResponse } from './problem.js';

export interface RateLimitOptions {
  /** Tokens regained per second. */
  perSecond: number;
  /** Bucket size: the most requests a tenant may send at once. */
  burst: number;
  /** Milliseconds; tests pass their own. @defaultValue `performance.now` */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per tenant: spends one of the tenant's tokens and answers null, or answers
 * the 429 when none is left. The edge's gate calls it after the key check.
 */
export function rateLimiter(options: RateLimitOptions, logger: Logger): (c: Context, tenantId: string) => Response | null {
  const { perSecond, burst } = options;
  if (!(perSecond > 0) || !(burst >= 1)) throw new Error('rateLimit needs perSecond > 0 and burst >= 1');
  const now = options.now ?? (() => performance.now());
  const buckets = new Map<string, Bucket>();
  return (c, tenantId) => {
    const t = now();
    let bucket = buckets.get(tenantId);
    if (!bucket) {
      bucket = { tokens: burst, at: t };
      buckets.set(tenantId, bucket);
    } else {
      bucket.tokens = Math.min(burst, bucket.tokens + ((t - bucket.at) * perSecond) / 1000);
      bucket.at = t;
    }
    if (bucket.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
      const problem = new AppError('rate-limited', `Tenant budget of ${perSecond} requests/s (burst ${burst}) is spent; retry in ${retryAfter} s`, {
        extras: { retryAfterSeconds: retryAfter },
      });
      return problemResponse(c, problem, logger, { 'retry-after': String(retryAfter) });
    }
    bucket.tokens -= 1;
    return null;
  };
}
