/**
 * @module http/stream
 * `GET /v1/actors/:id/stream`: an actor's snapshots as Server-Sent Events (DESIGN.md
 * section 8). Each event is one stored snapshot version:
 *
 * ```
 * event: snapshot
 * data: {"id":"exe_…","status":"running",…,"version":3}
 * id: 3
 * ```
 *
 * - The event id is the actor's stored snapshot version, so a client that reconnects with
 *   `Last-Event-ID` (or `?lastEventId=` on its first request) to any process receives what
 *   it missed from the stored snapshot history, then live changes: no version twice, none
 *   skipped. Without an id the stream starts with the current snapshot.
 * - When the history no longer holds the versions after the requested id (it is bounded per
 *   actor), the stream starts with a `reset` event holding the current snapshot instead.
 * - Auth, tenant (another tenant's id answers 404) and `Last-Event-ID` (not a version of this
 *   actor: 400 `last-event-id-invalid`) are checked before the stream opens: after that an
 *   error can no longer be problem+json. A client already holding the final version gets
 *   `204 No Content`, which tells an `EventSource` to stop reconnecting.
 * - Heartbeats are comment lines; the stream closes once it sent a final status, or when the
 *   runtime ends its watches (`Runtime.endWatches`, the first step of a shutdown: the HTTP
 *   server's close does not wait on streams, and their clients resume on another process).
 * - Live changes come from the runtime's hub: this process's commits, and the store poll
 *   (or a Redis nudge) for commits made elsewhere. A notification only wakes the stream,
 *   which then reads the history from its last sent version, so every event of a version
 *   carries the same data whichever process serves it.
 */
import type { Hono } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { ActorView, Runtime } from '../actors/index.js';
import { AppError, toError } from '../errors.js';
import type { Logger } from '../logger.js';
import { isFinalStatus, type HistoryEntry, type Stores } from '../persistence/ports.js';
import type { AuthVariables } from './auth.js';

export interface StreamDeps {
  readonly runtime: Runtime;
  readonly stores: Stores;
  readonly logger: Logger;
  /** Interval of the heartbeat comment lines, ms. @defaultValue 15000 */
  readonly heartbeatMs?: number;
  /** History entries read per store call. @defaultValue 100 */
  readonly replayBatch?: number;
}

/** The route's path, as Hono writes it. */
export const STREAM_PATH = '/v1/actors/:id/stream';

const DEFAULTS = { heartbeatMs: 15_000, replayBatch: 100 } as const;

/** An event id: a snapshot version, at most 15 digits (beyond, a number is no longer exact in JSON). */
const VERSION_RE = /^\d{1,15}$/;

/**
 * The version a client resumes after: the `Last-Event-ID` header (what an `EventSource`
 * sends on reconnect) over the `lastEventId` query parameter (a first request's).
 * `undefined` when neither is given; `last-event-id-invalid` when it is not a version.
 */
export function lastEventIdOf(header: string | undefined, query: string | undefined): number | undefined {
  const raw = header ?? query;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (!VERSION_RE.test(text)) {
    throw new AppError('last-event-id-invalid', `Last-Event-ID ${JSON.stringify(raw.slice(0, 40))} is not a snapshot version of this stream`);
  }
  return Number(text);
}

/** The actor view at a history entry: the entry's changed fields over the fixed ones. */
function viewAt(base: ActorView, entry: HistoryEntry): ActorView {
  const { output: _output, error: _error, ...fixed } = base;
  const view: ActorView = {
    ...fixed,
    status: entry.view.status,
    value: entry.view.value,
    tags: entry.view.tags,
    contractId: entry.view.contractId,
    machineVersion: entry.view.machineVersion,
    version: entry.version,
    updatedAt: entry.view.updatedAt,
  };
  if (entry.view.output !== null && entry.view.output !== undefined) view.output = entry.view.output;
  if (entry.view.error) view.error = entry.view.error;
  return view;
}

/**
 * Mounts the stream route on `app`, which must have set the `tenantId` variable (the auth
 * middleware of `/v1/*`) before it runs.
 *
 * @example
 * app.use('/v1/*', auth({ keys, localTenant }));
 * registerStreamRoutes(app, { runtime, stores, logger });
 */
export function registerStreamRoutes<E extends { Variables: AuthVariables }>(app: Hono<E>, deps: StreamDeps): void {
  const { runtime, stores, logger } = deps;
  const heartbeatMs = deps.heartbeatMs ?? DEFAULTS.heartbeatMs;
  const replayBatch = deps.replayBatch ?? DEFAULTS.replayBatch;

  app.get(STREAM_PATH, async (c) => {
    const tenantId: string = c.get('tenantId');
    const id = c.req.param('id');
    const after = lastEventIdOf(c.req.header('last-event-id'), c.req.query('lastEventId'));

    // Subscribed before anything is read, so a commit lands either in what is read below or
    // in a notification: nothing falls between the two.
    let notified: ActorView | null = null;
    let wake: (() => void) | null = null;
    let ended = false;
    const stop = await runtime.watch(
      id,
      {
        tenantId,
        onError: (e) => logger.warn({ actorId: id, err: toError(e).message }, 'stream: reading the store failed; retrying'),
        // Shutting down: the stream ends, its client resumes on another process.
        onEnd: () => {
          ended = true;
          wake?.();
        },
      },
      (view) => {
        if (!notified || view.version > notified.version) notified = view;
        wake?.();
      },
    );
    let current: ActorView;
    try {
      current = await runtime.inspect(id, { tenantId });
      if (after !== undefined && after > current.version) {
        throw new AppError('last-event-id-invalid', `Last-Event-ID ${after} is past version ${current.version} of actor ${id}`);
      }
    } catch (e) {
      stop();
      throw e;
    }
    if (after !== undefined && after === current.version && isFinalStatus(current.status)) {
      stop();
      return c.body(null, 204);
    }

    const res = streamSSE(c, async (stream) => {
      let closed = false;
      stream.onAbort(() => {
        closed = true;
        wake?.();
      });
      try {
        await serve(stream, current, after, () => closed, () => ended);
      } catch (e) {
        logger.warn({ actorId: id, err: toError(e).message }, 'stream ended by an error');
      } finally {
        stop();
      }
    });
    res.headers.set('Cache-Control', 'no-cache, no-transform');
    res.headers.set('X-Accel-Buffering', 'no');
    return res;

    /**
     * Writes the stream until the actor is final, the client is `gone`, or the runtime is
     * `ending` its watches (what is stored is still sent first).
     */
    async function serve(
      stream: SSEStreamingApi,
      first: ActorView,
      resumeAfter: number | undefined,
      gone: () => boolean,
      ending: () => boolean,
    ): Promise<void> {
      let base = first;
      let sent = -1;
      let final = false;
      const send = async (event: 'snapshot' | 'reset', view: ActorView) => {
        await stream.writeSSE({ event, id: String(view.version), data: JSON.stringify(view) });
        sent = view.version;
        final = isFinalStatus(view.status);
      };

      /** Sends every stored version after `sent` (up to `latest`, the newest known state). */
      const catchUp = async (latest: ActorView) => {
        for (;;) {
          const page = await stores.actors.history(tenantId, id, sent, replayBatch);
          if (page.oldestVersion === null || page.oldestVersion > sent + 1) {
            // The versions right after `sent` are gone (compacted): start over from now.
            const now = latest.version > sent ? latest : await runtime.inspect(id, { tenantId });
            if (now.version > sent) await send('reset', now);
            return;
          }
          for (const entry of page.entries) {
            if (gone() || final) return;
            if (entry.version > sent) await send('snapshot', viewAt(base, entry));
          }
          if (page.entries.length < replayBatch) break;
        }
        // A version the history lacks (a MongoDB write that died before its entry): the
        // newest known state is still sent, never skipped silently.
        if (!final && !gone() && latest.version > sent) await send('snapshot', latest);
      };

      if (resumeAfter === undefined) {
        await send('snapshot', first);
      } else {
        sent = resumeAfter;
        await catchUp(first);
      }

      while (!final && !gone() && !ending()) {
        const latest: ActorView | null = notified;
        if (latest && latest.version > sent) {
          base = latest;
          await catchUp(latest);
          continue;
        }
        const woke = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), heartbeatMs);
          wake = () => {
            clearTimeout(timer);
            resolve(true);
          };
        });
        wake = null;
        if (!woke && !gone() && !ending()) await stream.write(': heartbeat\n\n');
      }
    }
  });
}
