/**
 * @module actors/hub
 * The process's hub of subscriptions: the latest state of every watched actor, fed by the
 * owner's commits (and, across processes, by polling the store), and the callers waiting on
 * each, indexed by actor id so a commit costs the same however many other actors are
 * watched. One store poll runs per watched actor, whatever the number of its waiters.
 *
 * Plain maps, not an `@xstate/store` store as DESIGN.md section 4 first sketched: the store's
 * immutable context copy and event dispatch on every commit were a measurable share of an
 * execution's cost (bench/runtime.ts), and nothing here needs its selectors.
 */
import type { Clock } from '../clock.js';
import type { ActorState } from './view.js';

export interface WaitOptions {
  current: ActorState | null;
  timeoutMs: number;
  pollMs: number;
  refresh: () => Promise<ActorState | null>;
  onTimeout: () => Error;
}

export interface SubscribeOptions {
  pollMs: number;
  refresh: () => Promise<ActorState | null>;
  /** Told of a failed store read; polling goes on. */
  onError?: (error: unknown) => void;
}

export interface Hub {
  /** Records a committed state and wakes its waiters; a no-op for actors nobody watches. */
  publish(state: ActorState): void;
  /**
   * Resolves with the first state of `id` that satisfies `until` (checking `current` first),
   * or rejects with the error `onTimeout` builds after `timeoutMs`. `refresh` reads the store
   * every `pollMs`, so commits made by other processes are seen too.
   */
  waitFor(id: string, until: (s: ActorState) => boolean, options: WaitOptions): Promise<ActorState>;
  /**
   * Another process says `id` changed: re-read the store now instead of at the next poll.
   * A no-op for actors nobody here watches; the store stays the truth.
   */
  nudge(id: string): void;
  /**
   * Calls `listener` with every state of `id` newer than the last one it saw, until the
   * returned function is called: each commit made by this process, and the latest state the
   * store poll (every `pollMs`, or sooner on a nudge) finds for commits made by others. The
   * poll sees only the newest state, so versions committed elsewhere between two reads are
   * skipped: a listener that needs every version fills gaps from the snapshot history.
   */
  subscribe(id: string, listener: (s: ActorState) => void, options: SubscribeOptions): () => void;
  /** How many actors are watched now (tests: nothing leaks). */
  watchedCount(): number;
}

interface Listener {
  notify: (s: ActorState) => void;
  onError: ((error: unknown) => void) | undefined;
}

interface Waiter {
  until: (s: ActorState) => boolean;
  settle: (s: ActorState | null, error?: unknown) => void;
}

interface Watch {
  waiters: Set<Waiter>;
  listeners: Set<Listener>;
  poller: unknown;
  /** A nudged read is in flight (nudges that arrive meanwhile fold into it). */
  reading: boolean;
  refresh: () => Promise<ActorState | null>;
  pollMs: number;
  latest: ActorState | null;
}

export function createHub(clock: Clock): Hub {
  const watches = new Map<string, Watch>();

  function offer(watch: Watch, state: ActorState): void {
    if (watch.latest && watch.latest.version >= state.version) return;
    watch.latest = state;
    for (const w of [...watch.waiters]) if (w.until(state)) w.settle(state);
    for (const l of [...watch.listeners]) l.notify(state);
  }

  function schedulePoll(id: string, watch: Watch): void {
    watch.poller = clock.setTimeout(() => {
      watch
        .refresh()
        .then((s) => {
          if (watches.get(id) !== watch) return;
          if (s) offer(watch, s);
          if (watches.get(id) === watch) schedulePoll(id, watch);
        })
        .catch((e: unknown) => {
          for (const w of [...watch.waiters]) w.settle(null, e);
          for (const l of [...watch.listeners]) l.onError?.(e);
          // Subscribers outlive a failed read: keep polling for them.
          if (watches.get(id) === watch) schedulePoll(id, watch);
        });
    }, watch.pollMs);
  }

  /** The watch of `id`, created (and polling) if nobody watched it yet. */
  function watchOf(id: string, refresh: () => Promise<ActorState | null>, pollMs: number): Watch {
    let watch = watches.get(id);
    if (!watch) {
      watch = { waiters: new Set(), listeners: new Set(), poller: null, reading: false, refresh, pollMs, latest: null };
      watches.set(id, watch);
      schedulePoll(id, watch);
    }
    return watch;
  }

  /** Stops watching `id` once nobody waits on it or listens to it. */
  function release(id: string, watch: Watch): void {
    if (watch.waiters.size > 0 || watch.listeners.size > 0) return;
    clock.clearTimeout(watch.poller);
    if (watches.get(id) === watch) watches.delete(id);
  }

  return {
    nudge(id) {
      const watch = watches.get(id);
      if (!watch || watch.reading) return;
      watch.reading = true;
      watch
        .refresh()
        .then((s) => {
          if (s && watches.get(id) === watch) offer(watch, s);
        })
        .catch(() => {
          // The regular poll reports store errors to the waiters.
        })
        .finally(() => {
          watch.reading = false;
        });
    },
    publish(state) {
      const watch = watches.get(state.id);
      if (watch) offer(watch, state);
    },
    waitFor(id, until, options) {
      if (options.current && until(options.current)) return Promise.resolve(options.current);
      return new Promise<ActorState>((resolve, reject) => {
        const own = watchOf(id, options.refresh, options.pollMs);
        let timer: unknown = null;
        const waiter: Waiter = {
          until,
          settle(s, error) {
            if (!own.waiters.delete(waiter)) return;
            clock.clearTimeout(timer);
            release(id, own);
            if (s) resolve(s);
            else reject(error);
          },
        };
        own.waiters.add(waiter);
        timer = clock.setTimeout(() => waiter.settle(null, options.onTimeout()), options.timeoutMs);
        if (options.current) offer(own, options.current);
        if (own.latest && until(own.latest)) waiter.settle(own.latest);
      });
    },
    subscribe(id, notify, options) {
      const watch = watchOf(id, options.refresh, options.pollMs);
      let seen = -1;
      const listener: Listener = {
        notify(s) {
          if (s.version <= seen) return;
          seen = s.version;
          notify(s);
        },
        onError: options.onError,
      };
      watch.listeners.add(listener);
      return () => {
        if (watch.listeners.delete(listener)) release(id, watch);
      };
    },
    watchedCount: () => watches.size,
  };
}
