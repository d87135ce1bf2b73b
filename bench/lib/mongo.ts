/**
 * @module bench/lib/mongo
 * Helpers for the MongoDB half of the runtime benchmark: which server answers (FerretDB is
 * named as such), a fresh database name per system, and a count of the commands (round
 * trips) each client sends during the measured passes, from the driver's command monitoring.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPass, type Pass } from './measure.js';

/** The part of a MongoClient (driver 6 or 7) the counter needs. */
export interface MonitorableClient {
  on(event: 'commandStarted', listener: (event: { commandName: string }) => void): unknown;
}

/** Commands that change documents; one command may carry several statements (a bulk write). */
const WRITE_COMMANDS = new Set(['insert', 'update', 'delete', 'findAndModify']);
/** Driver housekeeping that is not the system's own work. */
const IGNORED_COMMANDS = new Set(['hello', 'isMaster', 'ismaster', 'endSessions', 'ping', 'buildInfo']);

export interface CommandCounter {
  /** Commands sent (round trips), housekeeping excluded. */
  commands: number;
  /** Of which write commands. */
  writes: number;
  readonly byName: Map<string, number>;
}

/**
 * `url` with the driver's command monitoring on (`monitorCommands=true`), so a client opened
 * with it, wherever it is opened (Symphainy's store opens its own), emits `commandStarted`.
 */
export function monitoredUrl(url: string): string {
  const u = new URL(url);
  u.searchParams.set('monitorCommands', 'true');
  return u.toString();
}

/** Counts the commands a client opened on a {@link monitoredUrl} sends. */
export function countCommands(client: MonitorableClient, counter: CommandCounter = newCounter()): CommandCounter {
  client.on('commandStarted', ({ commandName }) => {
    if (IGNORED_COMMANDS.has(commandName)) return;
    counter.commands++;
    if (WRITE_COMMANDS.has(commandName)) counter.writes++;
    counter.byName.set(commandName, (counter.byName.get(commandName) ?? 0) + 1);
  });
  return counter;
}

export function newCounter(): CommandCounter {
  return { commands: 0, writes: 0, byName: new Map() };
}

/** A database name no earlier run used; the system drops it when it is done. */
export function freshDbName(system: string): string {
  return `symphainy_bench_${system.replace(/[^a-z0-9]/gi, '_')}_${process.pid}_${Date.now().toString(36)}`;
}

export interface MongoPasses {
  passes: Pass[];
  /** Commands (round trips) per measured workflow. */
  commandsPerWorkflow: number;
  writesPerWorkflow: number;
  /** Commands per measured workflow, by command name. */
  commandMix: Record<string, number>;
}

/**
 * One warm-up and one measured pass per concurrency level (as `measureLevels` does for
 * SQLite), counting the commands sent during the measured passes only.
 */
export async function measureMongoLevels(
  counter: CommandCounter,
  options: { n: number; warmup: number; concurrency: readonly number[] },
  job: (name: string) => Promise<void>,
): Promise<MongoPasses> {
  let seq = 0;
  let commands = 0;
  let writes = 0;
  const mix = new Map<string, number>();
  const passes: Pass[] = [];
  for (const concurrency of options.concurrency) {
    await runPass(options.warmup, concurrency, () => job(`warm${seq++}`));
    const before = { commands: counter.commands, writes: counter.writes, byName: new Map(counter.byName) };
    passes.push(await runPass(options.n, concurrency, () => job(`run${seq++}`)));
    commands += counter.commands - before.commands;
    writes += counter.writes - before.writes;
    for (const [name, k] of counter.byName) mix.set(name, (mix.get(name) ?? 0) + k - (before.byName.get(name) ?? 0));
  }
  const measured = options.n * options.concurrency.length;
  return {
    passes,
    commandsPerWorkflow: commands / measured,
    writesPerWorkflow: writes / measured,
    commandMix: Object.fromEntries([...mix].filter(([, k]) => k > 0).map(([name, k]) => [name, k / measured])),
  };
}

/** The part of a database handle (driver 6 or 7) {@link storedDocuments} needs. */
export interface CountableDb {
  listCollections(): { toArray(): Promise<{ name: string }[]> };
  collection(name: string): { estimatedDocumentCount(): Promise<number> };
}

/**
 * Documents held per workflow, all of the database's collections together, after the
 * workflow passes (warm-ups included). FerretDB v1 reads every row of a collection's table
 * for each lookup, so this is what each system's lookups read through as it runs.
 */
export async function storedDocumentsPerWorkflow(db: CountableDb, workflows: number): Promise<number> {
  const names = (await db.listCollections().toArray()).map((c) => c.name).filter((n) => !n.startsWith('system.'));
  const counts = await Promise.all(names.map((n) => db.collection(n).estimatedDocumentCount()));
  return counts.reduce((a, b) => a + b, 0) / workflows;
}

/** FerretDB's version from the test wrapper's go.mod (its embedded build reports "unknown"). */
function wrapperFerretVersion(): string | undefined {
  try {
    const goMod = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../test/services/mongo/go.mod'), 'utf8');
    return /github\.com\/FerretDB\/FerretDB (v[0-9][^\s]*)/.exec(goMod)?.[1];
  } catch {
    return undefined;
  }
}

/**
 * What the server is, in words: "FerretDB v1.24.2 on PostgreSQL (MongoDB 7.0.42 wire
 * protocol)" or "MongoDB 7.0.x". `buildInfo` is the driver-neutral way to ask.
 */
export function describeServer(buildInfo: Record<string, unknown>): { server: string; ferretdb: boolean } {
  const wire = String(buildInfo.version ?? '?');
  if (!('ferretdbVersion' in buildInfo) && !('ferretdbFeatures' in buildInfo)) return { server: `MongoDB ${wire}`, ferretdb: false };
  const reported = String(buildInfo.ferretdbVersion ?? 'unknown');
  if (reported !== 'unknown') return { server: `FerretDB ${reported} (MongoDB ${wire} wire protocol; backend not reported)`, ferretdb: true };
  // The embedded build of test/services/mongo reports "unknown"; that wrapper only runs the
  // PostgreSQL backend (its `-postgresql-url` is required).
  const version = wrapperFerretVersion() ?? 'v1 (version unknown)';
  return { server: `FerretDB ${version} on PostgreSQL (test/services/mongo; MongoDB ${wire} wire protocol)`, ferretdb: true };
}

/**
 * The durability of the PostgreSQL cluster behind FerretDB, when `PG_URL` points at it (the
 * test services put both databases in one cluster) and `psql` is installed; else `null`.
 */
export function postgresDurability(): string | null {
  const url = process.env.PG_URL;
  if (!url) return null;
  const r = spawnSync('psql', [url, '-Atc', "SELECT 'fsync=' || current_setting('fsync') || ', synchronous_commit=' || current_setting('synchronous_commit')"], {
    encoding: 'utf8',
    timeout: 5000,
  });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}
