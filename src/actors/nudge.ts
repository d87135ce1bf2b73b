/**
 * @module actors/nudge
 * Wake-ups between processes. The store is the truth and every process polls it on a bounded
 * interval; a nudger only shortens the wait: the owner of an actor hears at once that another
 * process accepted an event for it, and a process serving `waitFor` or a stream hears that
 * the owner committed. Losing a nudge costs latency, never data.
 */

export type NudgeKind = 'event' | 'commit';

export interface Nudger {
  /** Fire and forget: tells every process (this one included) that `actorId` changed. */
  publish(kind: NudgeKind, actorId: string): void;
  /** Registers the handler of nudges from every process. */
  subscribe(handler: (kind: NudgeKind, actorId: string) => void): void;
  close(): Promise<void>;
}

/** Encodes a nudge as one channel message. */
export function encodeNudge(kind: NudgeKind, actorId: string): string {
  return `${kind === 'event' ? 'e' : 'c'}:${actorId}`;
}

/** Decodes a channel message; `null` for anything else. */
export function decodeNudge(message: string): { kind: NudgeKind; actorId: string } | null {
  const m = /^([ec]):(\S{1,200})$/.exec(message);
  if (!m?.[1] || !m[2]) return null;
  return { kind: m[1] === 'e' ? 'event' : 'commit', actorId: m[2] };
}
