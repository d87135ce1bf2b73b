/**
 * @module realms/content/retention
 * The retention sweeper: uploads are kept for their contract's `retentionDays` (their
 * `expiresAt`, set at upload) and deleted afterwards, by every process that serves, a batch
 * at a time. Deleting a blob twice is harmless, so several processes may sweep at once.
 */
import type { BlobStore } from '../../persistence/ports.js';
import type { Logger } from '../../logger.js';

export interface RetentionSweeper {
  /** One sweep now: deletes every expired blob, in batches; returns how many went. */
  sweep(): Promise<number>;
  stop(): void;
}

export function startRetentionSweeper(
  blobs: BlobStore,
  options: { everyMs?: number; batch?: number; now?: () => number; logger?: Logger } = {},
): RetentionSweeper {
  const batch = options.batch ?? 500;
  const now = options.now ?? Date.now;
  let running: Promise<number> | null = null;
  const sweep = (): Promise<number> => {
    running ??= (async () => {
      let total = 0;
      try {
        for (;;) {
          const n = await blobs.sweepExpired(new Date(now()).toISOString(), batch);
          total += n;
          if (n < batch) break;
        }
        if (total > 0) options.logger?.info({ deleted: total }, 'retention: expired uploads deleted');
        return total;
      } finally {
        running = null;
      }
    })();
    return running;
  };
  const timer = setInterval(() => {
    sweep().catch((e: unknown) => options.logger?.warn({ err: e }, 'retention sweep failed; retrying at the next interval'));
  }, options.everyMs ?? 3_600_000);
  timer.unref();
  return {
    sweep,
    stop: () => clearInterval(timer),
  };
}
