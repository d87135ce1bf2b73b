/**
 * Crash test (issue 3 acceptance) on the embedded store: a child process runs the runtime on
 * SQLite, spawns 200 slow executions and keeps messaging agent sessions, and is killed with
 * SIGKILL; a new runtime on the same store finishes every execution, applies (or records the
 * refusal of) every event the child acknowledged, writes exactly one artifact per execution
 * and per agent turn, and finds no snapshot it cannot restore. The scenario (`crash.ts`) is
 * shared with the cluster suite, which runs it on every store.
 */
import { rmSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, it } from 'vitest';
import { crashAtOnce, crashMidway, type CrashOptions } from './crash.js';
import { tempDir, tenant } from './helpers.js';

const WAIT_MS = 20_000;

let child: ChildProcess | null = null;
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  child = null;
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A fresh SQLite folder for one test, removed afterwards. */
function onFreshStore(): CrashOptions {
  const dir = tempDir('symphainy-crash-');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return {
    store: { kind: 'sqlite', dir },
    tenantId: tenant(),
    waitMs: WAIT_MS,
    onWorker: (proc) => (child = proc),
    track: (close) => cleanups.push(close),
  };
}

describe('crash and recovery', () => {
  it('finishes every execution once and loses no accepted event after a SIGKILL midway', async () => {
    await crashMidway(onFreshStore());
  }, 40_000);

  it('loses nothing acknowledged when killed in its first moments', async () => {
    await crashAtOnce(onFreshStore());
  }, 40_000);
});
