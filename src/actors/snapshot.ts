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
  return { status: snapshot.hasTag(WAITING_TAG) ? 'waiting' : 'running', error: null, output: null };
}

interface ScheduledEventLike {
  id: string;
  event: { type: string };
  delay: number;
  source: AnyActorRef;
  target: AnyActorRef;
}

/**
 * The delayed events the actor has pending, each with its absolute deadline.
 * `getPersistedSnapshot()` does not carry them: XState keeps them in its system scheduler
 * with the delay only, so the runtime remembers when each was first seen (`known`) and
 * stores that deadline. Only events the root actor sends itself (`after`) are kept.
 */
export function pendingTimers(actor: AnyActorRef, known: ReadonlyMap<string, TimerRecord>, nowMs: number): TimerRecord[] {
  const scheduled = actor.system.getSnapshot()._scheduledEvents as Record<string, ScheduledEventLike>;
  const out: TimerRecord[] = [];
  for (const s of Object.values(scheduled)) {
    if (s.source !== actor || s.target !== actor) continue;
    const prior = known.get(s.id);
    out.push(prior ?? { id: s.id, event: JSON.parse(JSON.stringify(s.event)) as TimerRecord['event'], deadline: nowMs + s.delay });
  }
  return out.sort((a, b) => a.deadline - b.deadline || (a.id < b.id ? -1 : 1));
}

/** Re-arms stored timers on a restored actor for the time each has left (0 if overdue). */
export function rearmTimers(actor: AnyActorRef, timers: readonly TimerRecord[], nowMs: number): void {
  for (const t of timers) {
    actor.system.scheduler.schedule(actor, actor, t.event, Math.max(0, t.deadline - nowMs), t.id);
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
