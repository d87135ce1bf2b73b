/**
 * The crash test's scenario (issue 3 acceptance, and issue 4's "on MongoDB as well"), on any
 * store a {@link StoreSpec} names: a worker process (`fixtures/crash-worker.ts`) spawns slow
 * executions and keeps messaging agent sessions, and is killed with SIGKILL; a new runtime on
 * the same store finishes every execution with exactly one artifact, applies (or records the
 * refusal of) every event the worker acknowledged, writes one artifact per agent turn, and
 * leaves nothing to rehydrate and no snapshot it cannot restore.
 *
 * Used by `crash.test.ts` (SQLite) and by the cluster suite (`test/cluster/cluster.suite.ts`,
 * every store). Not a test file itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createActor, type AnyMachineSnapshot } from 'xstate';
import { expect } from 'vitest';
import { createRuntime, type Runtime } from '../../src/actors/index.js';
import { isAppError } from '../../src/errors.js';
import { silentLogger } from '../../src/logger.js';
import { machineCatalog } from '../../src/machines/index.js';
import { isFinalStatus, type ActorRecord, type Stores } from '../../src/persistence/ports.js';
import { openStores, type StoreSpec } from '../cluster/fixtures/store-spec.js';
import { paramsOf, type WorkerConfig } from './fixtures/crash-config.js';
import { ANSWER_ARTIFACT, SLOW_WORK_ARTIFACT, slowIntents, slowResponder } from './fixtures/slow-work.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WORKER = 'test/actors/fixtures/crash-worker.ts';
export const LEASE_MS = 1000;
export const EXECUTIONS = 200;

interface Accepted {
  actorId: string;
  seq: number;
  via: 'owner' | 'edge';
  text: string;
}

/** What the worker acknowledged before it died, read from its stdout. */
export interface Progress {
  sessions: string[];
  accepted: Accepted[];
  /** Execution ids by spawn ordinal (1-based). */
  spawned: Map<number, string>;
  spawnedAll: boolean;
  done: Set<string>;
}

/** How a caller runs the scenario. */
export interface CrashOptions {
  /** The store, fresh for the test. */
  store: StoreSpec;
  tenantId: string;
  /** Bound on each wait (the worker reaching its kill point, an actor finishing), ms. */
  waitMs: number;
  /** Receives the worker process, for the caller to kill should the test end first. */
  onWorker: (child: ChildProcess) => void;
  /** Receives what must be closed once the test ends. */
  track: (close: () => Promise<void> | void) => void;
}

export function workerConfig(o: Pick<CrashOptions, 'store' | 'tenantId' | 'waitMs'>): WorkerConfig {
  return {
    store: o.store,
    tenantId: o.tenantId,
    executions: EXECUTIONS,
    sessions: 4,
    minMs: 200,
    maxMs: 1200,
    leaseMs: LEASE_MS,
    // The owner never polls before the kill: what the edge accepted stays unapplied.
    ownerPollMs: 60_000,
    sendEveryMs: 4,
    lifetimeMs: 2 * o.waitMs,
  };
}

/**
 * Runs the worker until `killWhen` holds for its progress, kills it with SIGKILL, and
 * resolves once its output is fully read (lines written before the kill count as
 * acknowledged) with that progress and the state at the moment of the kill.
 */
function runAndKill(
  config: WorkerConfig,
  o: Pick<CrashOptions, 'waitMs' | 'onWorker'>,
  killWhen: (p: Progress) => boolean,
): Promise<{ progress: Progress; atKill: { done: number; spawned: number } }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(config)], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  o.onWorker(proc);
  const progress: Progress = { sessions: [], accepted: [], spawned: new Map(), spawnedAll: false, done: new Set() };
  let atKill: { done: number; spawned: number } | null = null;
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: proc.stdout! });
  lines.on('line', (line) => {
    const [tag, ...rest] = line.split(' ');
    if (tag === 'session') progress.sessions.push(rest[0]!);
    else if (tag === 'accepted') progress.accepted.push({ actorId: rest[0]!, seq: Number(rest[1]), via: rest[2] as Accepted['via'], text: rest[3]! });
    else if (tag === 'spawned') progress.spawned.set(Number(rest[0]), rest[1]!);
    else if (tag === 'spawned-all') progress.spawnedAll = true;
    else if (tag === 'done') progress.done.add(rest[0]!);
    if (atKill === null && killWhen(progress)) {
      atKill = { done: progress.done.size, spawned: progress.spawned.size };
      proc.kill('SIGKILL');
    }
  });
  return new Promise((resolve, reject) => {
    const guard = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`the worker never reached the kill point; stderr: ${stderr}`));
    }, o.waitMs);
    // 'close' comes after the process exited and its stdout was read to the end.
    proc.once('close', (code, signal) => {
      clearTimeout(guard);
      lines.close();
      if (signal !== 'SIGKILL' || atKill === null) {
        reject(new Error(`the worker ended by itself (code ${code}, signal ${signal}); stderr: ${stderr}`));
        return;
      }
      resolve({ progress, atKill });
    });
  });
}

async function allActors(stores: Stores, tenantId: string, kind: string): Promise<ActorRecord[]> {
  const out: ActorRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await stores.actors.list({ tenantId, kind, limit: 100, ...(cursor ? { cursor } : {}) });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return out;
}

/**
 * The stored snapshot round-trips through JSON and restores with `createActor` on the pure
 * machine into the state the record says. A record never committed has no snapshot yet and
 * restarts from its spawn input.
 */
function expectRestorable(record: ActorRecord): void {
  const def = machineCatalog[record.kind];
  expect(def, record.id).toBeDefined();
  expect(record.machineId).toBe(def!.machine.id);
  expect(record.machineVersion).toBe(def!.version);
  if (record.snapshot === null) {
    expect(record.version, `${record.id} has commits but no snapshot`).toBe(0);
    expect(isFinalStatus(record.status)).toBe(false);
    return;
  }
  const snapshot = JSON.parse(JSON.stringify(record.snapshot)) as AnyMachineSnapshot;
  // Not started: restoring must not need the runtime's work (which a start would re-invoke).
  const restored = createActor(def!.machine, { snapshot }).getSnapshot() as AnyMachineSnapshot;
  expect(restored.value, record.id).toEqual(record.value);
  expect(restored.status, record.id).toBe(isFinalStatus(record.status) ? 'done' : 'active');
}

/**
 * The store as the dead process left it: every snapshot restores, every acknowledged event is
 * stored, and some of them were still waiting to be applied.
 */
async function expectIntactAtKill(audit: Stores, tenantId: string, progress: Progress): Promise<void> {
  const records = [...(await allActors(audit, tenantId, 'execution')), ...(await allActors(audit, tenantId, 'agentSession'))];
  for (const record of records) expectRestorable(record);
  const entries = await Promise.all(progress.accepted.map((a) => audit.actors.event(tenantId, a.actorId, a.seq)));
  expect(entries.every((e) => e !== null), 'every acknowledged event is stored').toBe(true);
  expect(entries.filter((e) => e?.outcome === 'pending').length, 'accepted but unapplied at the kill').toBeGreaterThan(0);
}

/** Every execution in the store ends `done` with exactly one artifact, its own. */
async function expectExecutionsFinished(runtime: Runtime, stores: Stores, tenantId: string, ids: string[], progress: Progress, config: WorkerConfig, waitMs: number): Promise<void> {
  const views = await Promise.all(ids.map((id) => runtime.waitFor(id, { tenantId, until: 'done', timeoutMs: waitMs })));
  const ordinal = new Map([...progress.spawned].map(([n, id]) => [id, n]));
  for (const view of views) {
    expect(view.status, `${view.id}: ${JSON.stringify(view.error)}`).toBe('done');
    expect(await stores.artifacts.countByActor(tenantId, view.id), `artifacts of ${view.id}`).toBe(1);
    const page = await stores.artifacts.list({ tenantId, executionId: view.id, limit: 10 });
    const artifact = page.items[0]!;
    expect(artifact.kind).toBe(SLOW_WORK_ARTIFACT);
    expect(view.output).toEqual({ artifacts: [{ id: artifact.id, kind: SLOW_WORK_ARTIFACT }], error: null });
    const n = ordinal.get(view.id);
    expect(artifact.body).toEqual({ actorId: view.id, ms: n === undefined ? expect.any(Number) : paramsOf(config, n).ms });
  }
}

/**
 * Every event the worker acknowledged is applied or refused with a recorded reason, and
 * nothing applied was lost: each applied message became exactly one answered turn with one
 * artifact.
 */
async function expectEventsSettled(runtime: Runtime, stores: Stores, tenantId: string, progress: Progress, waitMs: number): Promise<void> {
  for (const id of progress.sessions) {
    // A last message, applied after every earlier one; once the session is idle again every
    // queued message has been answered. It is refused if the queue is full.
    try {
      await runtime.send(id, { type: 'MESSAGE', text: 'last' }, { tenantId, waitFor: { tag: 'waiting' }, timeoutMs: waitMs });
    } catch (e) {
      if (!isAppError(e, 'event-not-accepted')) throw e;
      await runtime.waitFor(id, { tenantId, until: { tag: 'waiting' }, timeoutMs: waitMs });
    }
  }
  for (const a of progress.accepted) {
    const entry = await runtime.event(a.actorId, a.seq, { tenantId });
    expect(entry.event, `event ${a.seq} of ${a.actorId}`).toEqual({ type: 'MESSAGE', text: a.text });
    expect(['applied', 'refused'], `event ${a.seq} of ${a.actorId}`).toContain(entry.outcome);
    if (entry.outcome === 'refused') expect(entry.error?.code).toBe('event-not-accepted');
  }
  for (const id of progress.sessions) {
    const mailbox = await stores.actors.pending(tenantId, id, 0);
    expect(mailbox.filter((e) => e.outcome === 'pending'), `pending events of ${id}`).toEqual([]);
    const applied = mailbox.filter((e) => e.outcome === 'applied' && e.event.type === 'MESSAGE').length;
    const { view } = await runtime.send(id, { type: 'END' }, { tenantId, waitFor: 'done', timeoutMs: waitMs });
    expect(view.status).toBe('done');
    expect(view.output, `turns of ${id}`).toEqual({ turns: applied, error: null });
    expect(await stores.artifacts.countByActor(tenantId, id), `answers of ${id}`).toBe(applied);
    const answers = await stores.artifacts.list({ tenantId, executionId: id, limit: applied + 1 });
    expect(answers.items.every((a) => a.kind === ANSWER_ARTIFACT)).toBe(true);
    const turns = answers.items.map((a) => (a.body as { turn: number }).turn);
    expect(turns.sort((x, y) => x - y)).toEqual(Array.from({ length: applied }, (_, i) => i + 1));
  }
}

/**
 * A new process on the store (same intents, short lease, fast polling) finishes every
 * execution of `ids`, settles every acknowledged event, and refuses to restore nothing.
 */
async function recover(o: CrashOptions, ids: string[], progress: Progress, config: WorkerConfig): Promise<void> {
  const stores = await openStores(o.store);
  const refused: string[] = [];
  const runtime = createRuntime({
    stores,
    intents: slowIntents(),
    respond: slowResponder,
    logger: silentLogger(),
    leaseMs: LEASE_MS,
    pollMs: 50,
    onRefused: (id, problem) => refused.push(`${id}: ${problem.code} ${problem.detail}`),
  });
  o.track(async () => {
    await runtime.close();
    await stores.close();
  });
  await runtime.start();
  await expectExecutionsFinished(runtime, stores, o.tenantId, ids, progress, config, o.waitMs);
  await expectEventsSettled(runtime, stores, o.tenantId, progress, o.waitMs);
  expect(refused).toEqual([]);
  await runtime.close();
}

/** After everything finished, a fresh process finds nothing to rehydrate and every snapshot restores. Returns how many actors there are. */
async function expectQuiescent(o: CrashOptions): Promise<number> {
  const stores = await openStores(o.store);
  o.track(() => stores.close());
  expect(await stores.actors.claim('crash-audit', Date.now() + 10 * LEASE_MS, LEASE_MS, 1000)).toEqual([]);
  const records = [...(await allActors(stores, o.tenantId, 'execution')), ...(await allActors(stores, o.tenantId, 'agentSession'))];
  for (const record of records) {
    expect(record.status, record.id).toBe('done');
    expect(record.appliedSeq).toBe(record.lastSeq);
    expectRestorable(record);
  }
  return records.length;
}

/** Kills the worker midway (every execution spawned, at least 40 done) and recovers. */
export async function crashMidway(o: CrashOptions): Promise<void> {
  const config = workerConfig(o);
  const { progress, atKill } = await runAndKill(config, o, (p) => p.spawnedAll && p.done.size >= 40);
  expect(progress.spawned.size).toBe(EXECUTIONS);
  expect(atKill.done).toBeGreaterThanOrEqual(40);
  expect(atKill.done).toBeLessThan(EXECUTIONS);

  const audit = await openStores(o.store);
  o.track(() => audit.close());
  const executions = await allActors(audit, o.tenantId, 'execution');
  expect(executions.map((r) => r.id).sort()).toEqual([...progress.spawned.values()].sort());
  const unfinished = executions.filter((r) => !isFinalStatus(r.status));
  expect(unfinished.length, 'executions still running at the kill').toBeGreaterThan(0);
  expect(unfinished.length).toBeLessThan(EXECUTIONS);
  for (const id of progress.done) expect(executions.find((r) => r.id === id)?.status).toBe('done');
  const written = await Promise.all(unfinished.map((r) => audit.artifacts.countByActor(o.tenantId, r.id)));
  expect(written.filter((c) => c === 1).length, 'in flight with their artifact already written').toBeGreaterThan(0);
  expect(written.filter((c) => c > 1)).toEqual([]);
  await expectIntactAtKill(audit, o.tenantId, progress);

  await recover(o, executions.map((r) => r.id), progress, config);
  expect(await expectQuiescent(o)).toBe(EXECUTIONS + config.sessions);
}

/** Kills the worker in its first moments (the first execution spawned) and recovers. */
export async function crashAtOnce(o: CrashOptions): Promise<void> {
  const config = workerConfig(o);
  const { progress } = await runAndKill(config, o, (p) => p.spawned.size >= 1);
  expect(progress.sessions).toHaveLength(config.sessions);
  expect(progress.accepted.length).toBeGreaterThanOrEqual(2 * config.sessions);
  expect(progress.spawnedAll).toBe(false);

  const audit = await openStores(o.store);
  o.track(() => audit.close());
  const executions = await allActors(audit, o.tenantId, 'execution');
  const stored = new Set(executions.map((r) => r.id));
  for (const id of progress.spawned.values()) expect(stored.has(id), `acknowledged spawn ${id} is stored`).toBe(true);
  // Spawns are sequential: at most the one in flight at the kill is stored unacknowledged.
  expect(executions.length - progress.spawned.size).toBeLessThanOrEqual(1);
  await expectIntactAtKill(audit, o.tenantId, progress);

  await recover(o, executions.map((r) => r.id), progress, config);
  expect(await expectQuiescent(o)).toBe(executions.length + config.sessions);
}
