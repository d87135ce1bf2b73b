/**
 * @module actors/hub
 * The process's hub of subscriptions: the latest state of every watched actor, fed by the
 * owner's commits (and, across processes, by polling the store). Waiters block on it with
 * a predicate and a timeout. Built on an `@xstate/store` store.
 */
import { createStore } from '@xstate/store';
import type { Clock } from '../clock.js';
import type { ActorState } from './view.js';

interface Watched {
  state: ActorState | null;
  watchers: number;
}

export interface Hub {
  /** Records a committed state; a no-op for actors nobody watches. */
  publish(state: ActorState): void;
  /**
   * Resolves with the first state of `id` that satisfies `until` (checking `current` first),
   * or rejects with the error `onTimeout` builds after `timeoutMs`. `refresh` is called every
   * `pollMs` to read the store, so commits made by other processes are seen too.
   */
  waitFor(
    id: string,
    until: (s: ActorState) => boolean,
    options: {
      current: ActorState | null;
      timeoutMs: number;
      pollMs: number;
      refresh: () => Promise<ActorState | null>;
      onTimeout: () => Error;
    },
  ): Promise<ActorState>;
}

export function createHub(clock: Clock): Hub {
  const store = createStore({
    context: { watched: {} as Record<string, Watched> },
    on: {
      watch: (ctx, e: { id: string }) => {
        const w = ctx.watched[e.id];
        return { watched: { ...ctx.watched, [e.id]: { state: w?.state ?? null, watchers: (w?.watchers ?? 0) + 1 } } };
      },
      unwatch: (ctx, e: { id: string }) => {
        const w = ctx.watched[e.id];
        if (!w) return ctx;
        const watched = { ...ctx.watched };
        if (w.watchers <= 1) delete watched[e.id];
        else watched[e.id] = { ...w, watchers: w.watchers - 1 };
        return { watched };
      },
      committed: (ctx, e: { state: ActorState }) => {
        const w = ctx.watched[e.state.id];
        if (!w || (w.state && w.state.version >= e.state.version)) return ctx;
        return { watched: { ...ctx.watched, [e.state.id]: { ...w, state: e.state } } };
      },
    },
  });

  return {
    publish(state) {
      if (store.getSnapshot().context.watched[state.id]) store.trigger.committed({ state });
    },
    waitFor(id, until, options) {
      if (options.current && until(options.current)) return Promise.resolve(options.current);
      return new Promise<ActorState>((resolve, reject) => {
        store.trigger.watch({ id });
        if (options.current) store.trigger.committed({ state: options.current });
        let settled = false;
        const finish = (fn: () => void) => {
          if (settled) return;
          settled = true;
          sub.unsubscribe();
          clock.clearTimeout(timer);
          clock.clearTimeout(poller);
          store.trigger.unwatch({ id });
          fn();
        };
        const check = (s: ActorState | null | undefined) => {
          if (s && until(s)) finish(() => resolve(s));
        };
        const sub = store.select((ctx) => ctx.watched[id]?.state).subscribe(check);
        const timer = clock.setTimeout(() => finish(() => reject(options.onTimeout())), options.timeoutMs);
        let poller: unknown;
        const poll = () => {
          poller = clock.setTimeout(() => {
            options
              .refresh()
              .then((s) => {
                if (settled) return;
                if (s) store.trigger.committed({ state: s });
                check(s);
                if (!settled) poll();
              })
              .catch((e: unknown) => finish(() => reject(e)));
          }, options.pollMs);
        };
        poll();
        check(store.getSnapshot().context.watched[id]?.state);
      });
    },
  };
}
