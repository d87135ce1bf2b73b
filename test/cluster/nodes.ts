/**
 * The parent's side of the cluster tests: starts runtime processes (`fixtures/node.ts`),
 * asks them things, reads what they print, signals them, and opens the test's store spec
 * (fresh per test, removed afterwards).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import type { ActorRecord, MailboxEntry, Stores } from '../../src/persistence/ports.js';
import type { ClaimTrace, CommitTrace, NodeConfig, NodeRequest, RenewTrace } from './fixtures/protocol.js';
import type { StoreSpec } from './fixtures/store-spec.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE = 'test/cluster/fixtures/node.ts';

/** Distributes `Omit` over a union, so each request keeps its own fields. */
type Without<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type Ask = Without<NodeRequest, 'id'>;

export interface Watched {
  /** When the node's `waitFor` resolved, epoch ms. */
  at: number;
  status: string;
  version: number;
}

export interface ClusterNode {
  readonly ownerId: string;
  readonly process: ChildProcess;
  /** Every commit the node reported (with `traceCommits`), in the order it printed them. */
  readonly commits: CommitTrace[];
  /** Every lease renewal the node reported (with `traceCommits`). */
  readonly renewals: RenewTrace[];
  /** Every claim that took actors over, as the node reported it (with `traceCommits`). */
  readonly claims: ClaimTrace[];
  /** Sends a request; resolves with its answer, rejects with its problem or if the node dies. */
  ask<T>(req: Ask): Promise<T>;
  /**
   * Asks the node to wait until the actor is done (`waitFor` request): `armed` resolves once
   * the runtime's waiter is registered, `result` with the answer.
   */
  watch(tenantId: string, actorId: string, timeoutMs: number): { armed: Promise<void>; result: Promise<Watched> };
  signal(signal: NodeJS.Signals): void;
  /** Resolves when the process has exited and its output was read to the end. */
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

const running = new Set<ChildProcess>();

/** Counts a child process started elsewhere in with the nodes {@link killAllNodes} ends. */
export function adopt(child: ChildProcess): void {
  running.add(child);
  child.once('close', () => running.delete(child));
}

/** SIGKILLs every node still running (a stopped one too). For `afterEach`. */
export function killAllNodes(): void {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  running.clear();
}

/** Starts a node and resolves once its runtime has started (its first claim is done). */
export function startNode(config: NodeConfig): Promise<ClusterNode> {
  const child = spawn(process.execPath, ['--import', 'tsx', NODE, JSON.stringify(config)], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const watchers = new Map<number, () => void>();
  const commits: CommitTrace[] = [];
  const renewals: RenewTrace[] = [];
  const claims: ClaimTrace[] = [];
  let next = 1;
  let ready: (ownerId: string) => void = () => undefined;
  const started = new Promise<string>((resolve) => (ready = resolve));

  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    const space = line.indexOf(' ');
    const tag = line.slice(0, space);
    const rest = line.slice(space + 1);
    if (tag === 'ready') ready(rest);
    else if (tag === 'reply' || tag === 'fail') {
      const at = rest.indexOf(' ');
      const id = Number(rest.slice(0, at));
      const body = JSON.parse(rest.slice(at + 1)) as unknown;
      const p = pending.get(id);
      pending.delete(id);
      if (tag === 'reply') p?.resolve(body);
      else p?.reject(Object.assign(new Error(`node ${config.ownerId}: ${JSON.stringify(body)}`), { problem: body }));
    } else if (tag === 'watching') {
      const id = Number(rest);
      watchers.get(id)?.();
      watchers.delete(id);
    } else if (tag === 'commit') {
      const [at, ok, actorId, epoch, result, status, started] = rest.split(' ');
      commits.push({ at: Number(at), started: Number(started), ok: ok === 'ok', actorId: actorId!, epoch: Number(epoch), result: result!, status: status! });
    } else if (tag === 'renew') {
      const [at, held, lost, started] = rest.split(' ').map(Number);
      renewals.push({ at: at!, held: held!, lost: lost!, started: started! });
    } else if (tag === 'claim') {
      const [at, count] = rest.split(' ').map(Number);
      claims.push({ at: at!, count: count! });
    }
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      running.delete(child);
      lines.close();
      const gone = new Error(`node ${config.ownerId} exited (code ${code}, signal ${signal}); stderr: ${stderr}`);
      for (const p of pending.values()) p.reject(gone);
      pending.clear();
      resolve({ code, signal });
    });
  });

  function send<T>(req: Ask): { id: number; answer: Promise<T> } {
    const id = next++;
    const answer = new Promise<T>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.stdin!.write(`${JSON.stringify({ ...req, id })}\n`);
    });
    return { id, answer };
  }

  const node: ClusterNode = {
    ownerId: config.ownerId,
    process: child,
    commits,
    renewals,
    claims,
    ask: <T>(req: Ask) => send<T>(req).answer,
    watch(tenantId, actorId, timeoutMs) {
      let arm: () => void = () => undefined;
      const armed = new Promise<void>((resolve) => (arm = resolve));
      const { id, answer } = send<Watched>({ op: 'waitFor', tenantId, actorId, timeoutMs });
      watchers.set(id, arm);
      return { armed: Promise.race([armed, answer.then(() => undefined)]), result: answer };
    },
    signal(signal) {
      child.kill(signal);
    },
    closed,
    stderr: () => stderr,
  };
  return Promise.race([
    started.then(() => node),
    closed.then(({ code, signal }) => {
      throw new Error(`node ${config.ownerId} exited before it was ready (code ${code}, signal ${signal}): ${stderr}`);
    }),
  ]);
}

// ----- stores -------------------------------------------------------------------------------

/** A fresh store for one test, and how to remove it. */
export interface TestStore {
  spec: StoreSpec;
  remove(): Promise<void>;
}

export function freshSqlite(): TestStore {
  const dir = mkdtempSync(join(tmpdir(), 'symphainy-cluster-'));
  return { spec: { kind: 'sqlite', dir }, remove: async () => rmSync(dir, { recursive: true, force: true }) };
}

export function freshMongo(url: string): TestStore {
  const dbName = `cluster_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  return {
    spec: { kind: 'mongo', url, dbName },
    async remove() {
      const client = new MongoClient(url);
      try {
        await client.connect();
        await client.db(dbName).dropDatabase();
      } finally {
        await client.close();
      }
    },
  };
}

// ----- store readers ------------------------------------------------------------------------

export async function recordsOf(stores: Stores, tenantId: string, ids: readonly string[]): Promise<ActorRecord[]> {
  return Promise.all(
    ids.map(async (id) => {
      const r = await stores.actors.get(tenantId, id);
      if (!r) throw new Error(`no actor ${id}`);
      return r;
    }),
  );
}

export async function mailboxOf(stores: Stores, tenantId: string, id: string): Promise<MailboxEntry[]> {
  return stores.actors.pending(tenantId, id, 0);
}

export function tenant(): string {
  return `t-${Math.random().toString(36).slice(2, 10)}`;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Polls `check` every `everyMs` until it returns a value other than `undefined`; throws after `timeoutMs`. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(everyMs);
  }
}
