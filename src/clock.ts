/**
 * @module clock
 * Time is passed in: leases, deadlines and retries take a `Clock`, so tests can control it.
 * `setTimeout`/`clearTimeout` match XState's clock interface so the same object is handed
 * to `createActor`.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock. Reads the globals at call time, so test fake timers apply. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
