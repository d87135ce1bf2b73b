/**
 * SQLite only (DESIGN.md section 4, last trap): several processes share one database file.
 * Each writer here is a separate Node process with its own better-sqlite3 connection, so
 * the races are real: the compare-and-set must run in `BEGIN IMMEDIATE` under WAL with a
 * busy timeout, or a writer sees `SQLITE_BUSY` instead of waiting its turn.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Stores } from '../../src/persistence/ports.js';
import { createSqliteStores } from '../../src/persistence/sqlite/index.js';
import type { CasReport, ClaimReport } from './fixtures/race-writer.js';
import { actorRecord } from './fixtures/actorRecord.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WRITER = fileURLToPath(new URL('./fixtures/race-writer.ts', import.meta.url));
const TIMEOUT_MS = 60_000;

interface Writer<R> {
  /** Resolves once the process opened the store and waits for `go`. */
  ready: Promise<void>;
  go(): void;
  /** The process's report, once it exited cleanly. */
  done: Promise<R>;
}

const children: ChildProcessWithoutNullStreams[] = [];

function startWriter<R extends CasReport | ClaimReport>(mode: R['mode'], dir: string, args: object): Writer<R> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, mode, dir, JSON.stringify(args)], { cwd: ROOT });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => (stderr += text));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (text: string) => {
      stdout += text;
      if (stdout.startsWith('ready\n')) resolve();
    });
    void exited.then((code) => reject(new Error(`writer exited (${code}) before it was ready: ${stderr}`)));
  });
  const done = exited.then((code) => {
    if (code !== 0) throw new Error(`writer exited with ${code}: ${stderr}`);
    const last = stdout.trim().split('\n').at(-1) ?? '';
    return JSON.parse(last) as R;
  });
  return { ready, go: () => child.stdin.write('go\n'), done };
}

/** Starts every writer, releases them together once all are ready, and collects their reports. */
async function race<R extends CasReport | ClaimReport>(writers: Writer<R>[]): Promise<R[]> {
  await Promise.all(writers.map((w) => w.ready));
  for (const w of writers) w.go();
  return Promise.all(writers.map((w) => w.done));
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const ascending = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
const tenant = (): string => `ten-${Math.random().toString(36).slice(2, 10)}`;

describe('SQLite shared by several processes', () => {
  let dir: string;
  let stores: Stores;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'symphainy-multiprocess-'));
    stores = createSqliteStores(dir);
  });

  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill();
    await stores.close();
    await rm(dir, { recursive: true, force: true });
  });

  it(
    'lets exactly one process win each version, the other gets version-conflict, and appends stay gapless',
    async () => {
      const tenantId = tenant();
      const ownerId = `own-${Math.random().toString(36).slice(2, 10)}`;
      const record = actorRecord(tenantId, { ownerId, leaseUntil: Date.now() + 10 * 60_000, epoch: 1 });
      await stores.actors.create(record);
      const rounds = 300;
      const names = ['a', 'b'] as const;
      const reports = await race(
        names.map((name) =>
          startWriter<CasReport>('cas', dir, { tenantId, actorId: record.id, ownerId, epoch: 1, rounds, name }),
        ),
      );
      const [a, b] = reports as [CasReport, CasReport];

      expect([...a.errors, ...b.errors]).toEqual([]);
      // Every version was won exactly once; each writer lost every version it did not win.
      expect(ascending([...a.won, ...b.won])).toEqual(range(0, rounds - 1));
      expect(ascending([...a.won, ...a.conflicts])).toEqual(range(0, rounds - 1));
      expect(ascending([...b.won, ...b.conflicts])).toEqual(range(0, rounds - 1));
      // Sequence numbers: unique, gapless, increasing within each writer.
      expect(ascending([...a.seqs, ...b.seqs])).toEqual(range(1, 2 * rounds));
      expect(a.seqs).toEqual(ascending(a.seqs));
      expect(b.seqs).toEqual(ascending(b.seqs));

      const stored = await stores.actors.get(tenantId, record.id);
      expect(stored).toMatchObject({ version: rounds, lastSeq: 2 * rounds, ownerId, epoch: 1 });
      const mailbox = await stores.actors.pending(tenantId, record.id, 0);
      expect(mailbox.map((e) => e.seq)).toEqual(range(1, 2 * rounds));
      // Each stored event is the one its writer was told it got.
      const told = new Map<number, string>();
      for (const [name, report] of [['a', a] as const, ['b', b] as const]) {
        report.seqs.forEach((seq, i) => told.set(seq, `${name}:${i}`));
      }
      for (const entry of mailbox) expect(`${String(entry.event.by)}:${String(entry.event.i)}`).toBe(told.get(entry.seq));
    },
    TIMEOUT_MS,
  );

  it(
    'gives each unowned actor to exactly one of several claiming processes',
    async () => {
      const tenantId = tenant();
      const created: string[] = [];
      for (let i = 0; i < 120; i++) {
        const record = actorRecord(tenantId);
        await stores.actors.create(record);
        created.push(record.id);
      }
      const owners = ['own-a', 'own-b', 'own-c'].map((o) => `${o}-${Math.random().toString(36).slice(2, 8)}`);
      const reports = await race(owners.map((ownerId) => startWriter<ClaimReport>('claim', dir, { ownerId, leaseMs: 10 * 60_000 })));

      expect(reports.flatMap((r) => r.errors)).toEqual([]);
      const claimed = reports.flatMap((r) => r.claimed.map((c) => c.id));
      expect([...claimed].sort()).toEqual([...created].sort());
      for (const [i, report] of reports.entries()) {
        for (const c of report.claimed) {
          expect(c.epoch).toBe(1);
          expect(await stores.actors.get(tenantId, c.id)).toMatchObject({ ownerId: owners[i], epoch: 1 });
        }
      }
    },
    TIMEOUT_MS,
  );
});
