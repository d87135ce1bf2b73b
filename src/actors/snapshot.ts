/**
 * @module actors/snapshot
 * What the runtime reads off a live XState actor to persist it, and what it does to a stored
 * snapshot before restoring it: status mapping (including the `error` status XState leaves
 * behind when an action throws), delayed-event deadlines, and version migrations.
 */
import type { AnyActorRef, AnyMachineSnapshot } from 'xstate';
import { AppError, problemOf, type Problem } from '../errors.js';
import type { MachineDefinition, PersistedSnapshot } from '../machines/index.js';
import type { ActorStatus, TimerRecord } from '../persistence/ports.js';

/** Final state names of our machines and the status each stands for. */
const FINAL_STATE_STATUS: Readonly<Record<string, ActorStatus>> = {
  done: 'done',
  ended: 'done',
  failed: 'failed',
  rejected: 'rejected',
  stopped: 'stopped',
};

/** Tag of states in which the actor waits on a human or an external event. */
export const WAITING_TAG = 'waiting';

export interface Classified {
  status: ActorStatus;
  error: Problem | null;
  output: unknown;
}

function topStateName(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) return Object.keys(value)[0] ?? '';
  return '';
}

/**
 * Maps a snapshot to the actor status of DESIGN.md section 8. An XState `error` snapshot (an
 * action or guard threw) is `failed` with the error, so boot never rehydrates it again.
 */
export function classify(snapshot: AnyMachineSnapshot): Classified {
  const context = snapshot.context as { error?: Problem | null } | undefined;
  const stored = context?.error ?? null;
  if (snapshot.status === 'error') {
    return { status: 'failed', error: stored ?? problemOf(snapshot.error), output: null };
  }
  if (snapshot.status === 'done') {
    const status = FINAL_STATE_STATUS[topStateName(snapshot.value)] ?? 'done';
    return { status, error: status === 'done' ? null : stored, output: snapshot.output ?? null };
  }
  if (snapshot.status === 'stopped') return { status: 'stopped', error: stored, output: null };
  // A running actor's stored output is its progress, if it reported any (see `progressOf`).
  const progress = (snapshot.context as { progress?: unknown } | undefined)?.progress;
  return { status: snapshot.hasTag(WAITING_TAG) ? 'waiting' : 'running', error: null, output: progress ? { progress } : null };
}

interface ScheduledEventLike {
  id: string;
  event: { type: string };
  delay: number;
  source: AnyActorRef;
  target: AnyActorRef;
}

/**
 * The deadline given to each delayed event, keyed by XState's scheduled-event object. XState
 * makes a new object every time a delay is armed, even under the same id (a state that is
 * re-entered re-arms its `after` with the same id), so a re-armed delay gets a new deadline
 * while one already seen keeps its first.
 */
export type TimerDeadlines = WeakMap<object, TimerRecord>;

/** The delayed events the root actor sends itself (`after`), as XState's scheduler holds them. */
function scheduledOf(actor: AnyActorRef): ScheduledEventLike[] {
  const scheduled = actor.system.getSnapshot()._scheduledEvents as Record<string, ScheduledEventLike>;
  return Object.values(scheduled).filter((s) => s.source === actor && s.target === actor);
}

/**
 * The delayed events the actor has pending, each with its absolute deadline.
 * `getPersistedSnapshot()` does not carry them: XState keeps them in its system scheduler
 * with the delay only, so the runtime records a deadline the first time it sees each armed
 * event (`known`) and stores it. Only events the root actor sends itself (`after`) are kept.
 */
export function pendingTimers(actor: AnyActorRef, known: TimerDeadlines, nowMs: number): TimerRecord[] {
  const out: TimerRecord[] = [];
  for (const s of scheduledOf(actor)) {
    let timer = known.get(s);
    if (!timer) {
      timer = { id: s.id, event: JSON.parse(JSON.stringify(s.event)) as TimerRecord['event'], deadline: nowMs + s.delay };
      known.set(s, timer);
    }
    out.push(timer);
  }
  return out.sort((a, b) => a.deadline - b.deadline || (a.id < b.id ? -1 : 1));
}

/**
 * Re-arms stored timers on a restored actor for the time each has left (0 if overdue), and
 * records their stored deadlines in `known` so later commits keep them.
 */
export function rearmTimers(actor: AnyActorRef, timers: readonly TimerRecord[], nowMs: number, known: TimerDeadlines): void {
  for (const t of timers) {
    actor.system.scheduler.schedule(actor, actor, t.event, Math.max(0, t.deadline - nowMs), t.id);
    const armed = scheduledOf(actor).find((s) => s.id === t.id);
    if (armed) known.set(armed, t);
  }
}

/**
 * Brings a stored snapshot of `fromVersion` to the definition's current version through its
 * registered migrations, one version at a time. A version newer than the code, or one with no
 * migration path, is refused with `machine-version-unknown`: never restored silently.
 */
export function migrateSnapshot(def: MachineDefinition, fromVersion: number, snapshot: PersistedSnapshot): PersistedSnapshot {
  if (fromVersion === def.version) return snapshot;
  if (!Number.isInteger(fromVersion) || fromVersion > def.version || fromVersion < 1) {
    throw new AppError(
      'machine-version-unknown',
      `Snapshot of ${def.kind} has machine version ${fromVersion}; this runtime knows versions up to ${def.version}`,
    );
  }
  let out = snapshot;
  for (let v = fromVersion; v < def.version; v++) {
    const step = def.migrations[v];
    if (!step) {
      throw new AppError(
        'machine-version-unknown',
        `No migration from version ${v} of ${def.kind} (snapshot at ${fromVersion}, machine at ${def.version})`,
      );
    }
    out = step(out);
  }
  return out;
}
