/**
 * @module persistence/redis/nudger
 * The Redis pub/sub nudger (`REDIS_URL`): one channel, one publishing and one subscribed
 * connection per process. Redis being down degrades to polling (logged), never to an error
 * for callers.
 */
import { Redis } from 'ioredis';
import { decodeNudge, encodeNudge, type Nudger, type NudgeKind } from '../../actors/nudge.js';
import { toError } from '../../errors.js';
import type { Logger } from '../../logger.js';

export const NUDGE_CHANNEL = 'symphainy:nudge';

export async function createRedisNudger(url: string, logger: Logger, channel: string = NUDGE_CHANNEL): Promise<Nudger> {
  const options = { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true } as const;
  const pub = new Redis(url, options);
  const sub = new Redis(url, { ...options, maxRetriesPerRequest: null });
  let warned = false;
  const warn = (e: unknown) => {
    if (warned) return;
    warned = true;
    logger.warn({ err: toError(e).message }, 'redis nudges unavailable; waking by polling only');
  };
  for (const c of [pub, sub]) {
    c.on('error', warn);
    c.on('ready', () => {
      warned = false;
    });
  }
  await Promise.all([pub.connect(), sub.connect()]);
  const handlers: ((kind: NudgeKind, actorId: string) => void)[] = [];
  sub.on('message', (ch: string, message: string) => {
    if (ch !== channel) return;
    const n = decodeNudge(message);
    if (n) for (const h of handlers) h(n.kind, n.actorId);
  });
  await sub.subscribe(channel);
  return {
    publish(kind, actorId) {
      pub.publish(channel, encodeNudge(kind, actorId)).catch(warn);
    },
    subscribe(handler) {
      handlers.push(handler);
    },
    async close() {
      sub.disconnect();
      pub.disconnect();
    },
  };
}
