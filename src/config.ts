/**
 * @module config
 * One typed configuration, parsed once from the environment with zod. No other module reads
 * `process.env`; modules receive the slice they need. Bad values fail at boot.
 */
import { z } from 'zod';

const bool = z
  .enum(['0', '1', 'true', 'false', 'yes', 'no', ''])
  .transform((v) => v === '1' || v === 'true' || v === 'yes');

const apiKeys = z
  .string()
  .transform((raw, ctx) => {
    const out: { key: string; tenantId: string }[] = [];
    for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
      const idx = part.lastIndexOf(':');
      const key = idx > 0 ? part.slice(0, idx) : '';
      const tenantId = idx > 0 ? part.slice(idx + 1) : '';
      if (key.length < 8 || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(tenantId)) {
        ctx.addIssue({ code: 'custom', message: 'SYMPHAINY_API_KEYS must be key:tenant,... with keys of 8+ characters' });
        return z.NEVER;
      }
      out.push({ key, tenantId });
    }
    return out;
  });

const rateLimit = z.string().transform((raw, ctx) => {
  const v = raw.trim().toLowerCase();
  if (v === 'off' || v === '0') return null;
  const m = /^(\d+(?:\.\d+)?)(?::(\d+))?$/.exec(v);
  const perSecond = Number(m?.[1]);
  const burst = m?.[2] === undefined ? Math.max(1, Math.ceil(perSecond)) : Number(m[2]);
  if (!m || !(perSecond > 0) || !(burst >= 1)) {
    ctx.addIssue({ code: 'custom', message: 'SYMPHAINY_RATE_LIMIT must be <requests per second>[:<burst>] or off' });
    return z.NEVER;
  }
  return { perSecond, burst };
});

const EnvSchema = z.object({
  /** @defaultValue 8787 */
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  /** Interface to bind; loopback unless API keys are configured. */
  HOST: z.string().optional(),
  /** @defaultValue './data' */
  SYMPHAINY_DATA_DIR: z.string().min(1).default('./data'),
  MONGO_URL: z.string().optional(),
  REDIS_URL: z.string().optional(),
  ANTHROPIC_API_KEY: z.string().optional(),
  ANTHROPIC_MODEL: z.string().default('claude-sonnet-4-5'),
  SYMPHAINY_API_KEYS: apiKeys.default([]),
  SYMPHAINY_INSPECT: bool.default(false),
  SYMPHAINY_INSPECT_TENANT: z.string().optional(),
  /** The inspector relay's port (loopback only). @defaultValue 8788 */
  SYMPHAINY_INSPECT_PORT: z.coerce.number().int().min(0).max(65535).default(8788),
  /** Snapshot history entries kept per actor (SSE resume). @defaultValue 100 */
  /** Interval of SSE heartbeat comment lines, ms. */
  SYMPHAINY_SSE_HEARTBEAT_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
  SYMPHAINY_HISTORY_MAX: z.coerce.number().int().min(1).max(100_000).default(100),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Lease on an owned actor, in milliseconds. @defaultValue 15000 */
  SYMPHAINY_LEASE_MS: z.coerce.number().int().min(200).default(15_000),
  /** Store polling interval for claims and mailboxes, in milliseconds. @defaultValue 250 */
  SYMPHAINY_POLL_MS: z.coerce.number().int().min(10).max(10_000).default(250),
  /** How long idempotency keys are remembered, in milliseconds. @defaultValue 86400000 */
  SYMPHAINY_IDEMPOTENCY_TTL_MS: z.coerce.number().int().min(1000).default(86_400_000),
  /** Largest accepted event or spawn input, in bytes. @defaultValue 262144 */
  SYMPHAINY_MAX_EVENT_BYTES: z.coerce.number().int().min(1024).default(256 * 1024),
  /** Largest accepted JSON request body, in bytes. @defaultValue 1048576 */
  SYMPHAINY_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1024 * 1024),
  /** Per-tenant request budget: `<requests per second>[:<burst>]`, or `off`. @defaultValue '1000:2000' */
  SYMPHAINY_RATE_LIMIT: rateLimit.default({ perSecond: 1000, burst: 2000 }),
});

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly mongoUrl: string | undefined;
  readonly redisUrl: string | undefined;
  readonly anthropic: { readonly apiKey: string | undefined; readonly model: string };
  readonly apiKeys: readonly { readonly key: string; readonly tenantId: string }[];
  /** The Stately inspector relay: fed the actors of `tenantId` only, on loopback `port`. */
  readonly inspect: { readonly enabled: boolean; readonly tenantId: string; readonly port: number };
  /** Snapshot history entries kept per actor. */
  readonly historyMax: number;
  readonly logLevel: string;
  readonly runtime: {
    readonly leaseMs: number;
    readonly pollMs: number;
    readonly idempotencyTtlMs: number;
    readonly maxEventBytes: number;
  };
  readonly http: {
    readonly maxBodyBytes: number;
    /** Per-tenant token bucket; `null` when off. */
    readonly rateLimit: { readonly perSecond: number; readonly burst: number } | null;
    /** Interval of SSE heartbeat comment lines, ms. */
    readonly sseHeartbeatMs: number;
  };
}

/** The tenant served when no API keys are configured (loopback only). */
export const LOCAL_TENANT = 'local';

/** Parses the environment; throws with every failing variable named. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  const config: Config = {
    port: e.PORT,
    host: e.HOST ?? (e.SYMPHAINY_API_KEYS.length > 0 ? '0.0.0.0' : '127.0.0.1'),
    dataDir: e.SYMPHAINY_DATA_DIR,
    mongoUrl: e.MONGO_URL || undefined,
    redisUrl: e.REDIS_URL || undefined,
    anthropic: { apiKey: e.ANTHROPIC_API_KEY || undefined, model: e.ANTHROPIC_MODEL },
    apiKeys: e.SYMPHAINY_API_KEYS,
    inspect: { enabled: e.SYMPHAINY_INSPECT, tenantId: e.SYMPHAINY_INSPECT_TENANT || LOCAL_TENANT, port: e.SYMPHAINY_INSPECT_PORT },
    historyMax: e.SYMPHAINY_HISTORY_MAX,
    logLevel: e.LOG_LEVEL,
    runtime: {
      leaseMs: e.SYMPHAINY_LEASE_MS,
      pollMs: e.SYMPHAINY_POLL_MS,
      idempotencyTtlMs: e.SYMPHAINY_IDEMPOTENCY_TTL_MS,
      maxEventBytes: e.SYMPHAINY_MAX_EVENT_BYTES,
    },
    http: { maxBodyBytes: e.SYMPHAINY_MAX_BODY_BYTES, rateLimit: e.SYMPHAINY_RATE_LIMIT, sseHeartbeatMs: e.SYMPHAINY_SSE_HEARTBEAT_MS },
  };
  if (config.apiKeys.length === 0 && !isLoopback(config.host)) {
    throw new Error('Refusing to listen beyond loopback without SYMPHAINY_API_KEYS');
  }
  if (config.inspect.enabled && config.apiKeys.length > 0 && !e.SYMPHAINY_INSPECT_TENANT) {
    throw new Error('SYMPHAINY_INSPECT with SYMPHAINY_API_KEYS needs SYMPHAINY_INSPECT_TENANT: the relay is fed one tenant only');
  }
  return Object.freeze(config);
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost';
}

/** What the CLI's client verbs default to: `SYMPHAINY_URL` and `SYMPHAINY_API_KEY`. */
export function clientDefaults(env: Record<string, string | undefined> = process.env): { url: string; key: string | undefined } {
  return { url: env.SYMPHAINY_URL || 'http://127.0.0.1:8787', key: env.SYMPHAINY_API_KEY || undefined };
}
