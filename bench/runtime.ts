/**
 * @module bench/runtime
 * Durable workflows per second, three systems on this machine in one run, each measured one
 * workflow at a time and with 16 in flight:
 *
 * - **symphainy**: the runtime on the embedded SQLite store (spawn -> contract -> trivial
 *   handler -> done, every transition persisted before it is acknowledged), plus p50/p99 of
 *   `send` with `waitFor`;
 * - **langgraph**: the same 4-step workflow as a LangGraph.js StateGraph with the SQLite
 *   checkpointer, `durability: 'sync'`;
 * - **floor**: a bare XState actor whose every snapshot is written to SQLite once.
 *
 * All three use WAL with `synchronous = NORMAL` (read back from each connection and printed).
 * Each system runs in its own child process and a fresh temp directory, so one's heap and
 * JIT state do not colour another's figures. Targets (issue 3): Symphainy >= 10x LangGraph
 * and >= 0.5x the floor.
 *
 * Then, when `MONGO_URL` is set, the same three on that MongoDB server (issue 4), each in its
 * own child process and a fresh database that it drops afterwards, printed in a second table:
 *
 * - **symphainy-mongo**: the runtime on `createMongoStores`;
 * - **langgraph-mongo**: the same graph with `@langchain/langgraph-checkpoint-mongodb`
 *   (`MongoDBSaver`), `durability: 'sync'`;
 * - **floor-mongo**: the bare XState actor, every snapshot one `replaceOne` upsert.
 *
 * The server is named from `buildInfo` (FerretDB says so). Targets: Symphainy >= 10x
 * LangGraph and >= 0.5x the floor on the same server. Without `MONGO_URL` a line says the
 * MongoDB part was skipped.
 *
 * Every system runs `BENCH_ROUNDS` times (default 3), the systems taking turns, and each figure
 * printed is the median round's (each round's rate is printed under the table), so one slow
 * stretch of a shared machine moves one round, not a ratio.
 *
 * Usage: `node --import tsx bench/runtime.ts` (all systems), or `--system=<name>` for one.
 * `BENCH_N`, `BENCH_LANGGRAPH_N`, `BENCH_SENDS` override the SQLite pass sizes;
 * `BENCH_MONGO_N`, `BENCH_MONGO_LANGGRAPH_N`, `BENCH_MONGO_SENDS`, `BENCH_MONGO_WARMUP` the
 * MongoDB ones.
 */
import { spawn } from 'node:child_process';
import { arch, cpus, loadavg, platform } from 'node:os';
import { fileURLToPath } from 'node:url';
import { envInt, type Pass } from './lib/measure.js';
import { postgresDurability } from './lib/mongo.js';
import type { MongoSystemName, MongoSystemResult, SystemName, SystemOptions, SystemResult } from './runtime/types.js';

const CONCURRENCY = [1, 16] as const;
const SYSTEMS: readonly SystemName[] = ['floor', 'langgraph', 'symphainy'];
const MONGO_SYSTEMS: readonly MongoSystemName[] = ['floor-mongo', 'langgraph-mongo', 'symphainy-mongo'];
const RESULT_PREFIX = 'BENCH_SYSTEM_RESULT ';
const TARGETS = { vsLangGraph: 10, vsFloor: 0.5 } as const;

const N = envInt('BENCH_N', 4000);
const LANGGRAPH_N = envInt('BENCH_LANGGRAPH_N', 400);
const SENDS = envInt('BENCH_SENDS', 2000);
// MongoDB round trips cost milliseconds, not microseconds: smaller passes, rates per second.
const MONGO_N = envInt('BENCH_MONGO_N', 400);
// The same workload for all three: FerretDB v1 reads a whole table for every lookup, so a
// system's rate falls as it stores more, and a shorter run would flatter the one measured on it.
const MONGO_LANGGRAPH_N = envInt('BENCH_MONGO_LANGGRAPH_N', MONGO_N);
const MONGO_SENDS = envInt('BENCH_MONGO_SENDS', 200);
const MONGO_WARMUP = envInt('BENCH_MONGO_WARMUP', 50);
const MONGO_URL = process.env.MONGO_URL && process.env.MONGO_URL.length > 0 ? process.env.MONGO_URL : undefined;
// Each system runs this many times, the systems taking turns, and every figure is the median
// round's: one slow stretch of a shared machine then moves one round of one system, not a ratio.
const ROUNDS = Math.max(1, envInt('BENCH_ROUNDS', 3));

/** Runs one system in this process and prints its result as one prefixed JSON line. */
async function runOne(system: SystemName | MongoSystemName): Promise<void> {
  // Every system warms up until the JIT has settled, so the ratios compare steady states.
  const base: SystemOptions = { n: N, warmup: envInt('BENCH_WARMUP', 1000), concurrency: CONCURRENCY };
  const mongo: SystemOptions = { n: MONGO_N, warmup: MONGO_WARMUP, concurrency: CONCURRENCY };
  let result: SystemResult | MongoSystemResult;
  switch (system) {
    case 'floor':
      result = await (await import('./runtime/floor.js')).runFloor(base);
      break;
    case 'langgraph':
      result = await (await import('./runtime/langgraph.js')).runLangGraph({ ...base, n: LANGGRAPH_N, warmup: 100 });
      break;
    case 'symphainy':
      result = await (await import('./runtime/symphainy.js')).runSymphainy({ ...base, sends: SENDS });
      break;
    case 'floor-mongo':
      result = await (await import('./runtime/floorMongo.js')).runFloorMongo(mongoUrl(), mongo);
      break;
    case 'langgraph-mongo':
      result = await (await import('./runtime/langgraphMongo.js')).runLangGraphMongo(mongoUrl(), {
        ...mongo,
        n: MONGO_LANGGRAPH_N,
      });
      break;
    case 'symphainy-mongo':
      result = await (await import('./runtime/symphainyMongo.js')).runSymphainyMongo(mongoUrl(), { ...mongo, sends: MONGO_SENDS });
      break;
  }
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

function mongoUrl(): string {
  if (!MONGO_URL) throw new Error('MONGO_URL is not set');
  return MONGO_URL;
}

/** Runs `--system=<name>` in a child process; resolves with its result, or the reason it has none. */
function runChild<S extends SystemName | MongoSystemName, R>(system: S): Promise<R | { system: S; error: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), `--system=${system}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code === 0 && line) return resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as R);
      const reason = err.trim().split('\n').slice(0, 6).join('\n') || out.trim() || `exit code ${code}`;
      resolve({ system, error: reason });
    });
  });
}

/** The median of `xs` (the lower middle one for an even count), or `undefined` for none. */
function median(xs: readonly number[]): number | undefined {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length === 0 ? undefined : sorted[Math.floor((sorted.length - 1) / 2)];
}

/** The pass of the round with the median rate, per concurrency level. */
function medianPasses(rounds: readonly (readonly Pass[] | undefined)[]): Pass[] | undefined {
  const present = rounds.filter((r): r is readonly Pass[] => r !== undefined && r.length > 0);
  if (present.length === 0) return undefined;
  return present[0]!.map((first) => {
    const same = present.map((r) => r.find((p) => p.concurrency === first.concurrency)).filter((p): p is Pass => p !== undefined);
    const rate = median(same.map((p) => p.perSecond));
    return same.find((p) => p.perSecond === rate) ?? first;
  });
}

/**
 * Runs every system `ROUNDS` times, the systems taking turns (a, b, c, a, b, c, ...), each run
 * in a child process of its own. Per system: its result with each pass the median round's,
 * and the rates of every round.
 */
async function runRounds<S extends SystemName | MongoSystemName, R extends { workflows: Pass[]; send?: Pass[] }>(
  systems: readonly S[],
): Promise<{ results: Map<S, R>; rounds: Map<S, R[]>; errors: { system: S; error: string }[] }> {
  const rounds = new Map<S, R[]>(systems.map((s) => [s, []]));
  const errors: { system: S; error: string }[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const system of systems) {
      if (errors.some((e) => e.system === system)) continue;
      const started = Date.now();
      const r = await runChild<S, R>(system);
      if ('error' in r) {
        errors.push(r);
        console.log(`  ${system}: FAILED in round ${round}\n${r.error.replace(/^/gm, '    ')}`);
      } else {
        rounds.get(system)!.push(r);
        console.log(`  ${system}: round ${round} of ${ROUNDS} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }
    }
  }
  const results = new Map<S, R>();
  for (const system of systems) {
    const all = rounds.get(system)!;
    if (all.length === 0 || errors.some((e) => e.system === system)) continue;
    const workflows = medianPasses(all.map((r) => r.workflows)) ?? all[0]!.workflows;
    const send = medianPasses(all.map((r) => r.send));
    results.set(system, { ...all[0]!, workflows, ...(send ? { send } : {}) });
  }
  return { results, rounds, errors };
}

/** Each round's rate of `system` at concurrency `c`, for the line under a table. */
function roundRates<S>(rounds: Map<S, { workflows: Pass[] }[]>, system: S, c: number): string {
  return (rounds.get(system) ?? []).map((r) => fmtRate(r.workflows.find((p) => p.concurrency === c)?.perSecond)).join(' / ');
}

const fmtRate = (x: number | undefined): string => (x === undefined ? 'n/a' : Math.round(x).toLocaleString('en-US'));
const fmtMs = (x: number | undefined): string => (x === undefined ? 'n/a' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const fmtRatio = (x: number | undefined): string => (x === undefined ? 'n/a' : `${x < 10 ? x.toFixed(2) : x.toFixed(1)}x`);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}

async function main(): Promise<void> {
  const arg = process.argv.find((a) => a.startsWith('--system='));
  if (arg) {
    const system = arg.slice('--system='.length) as SystemName | MongoSystemName;
    const known: readonly string[] = [...SYSTEMS, ...MONGO_SYSTEMS];
    if (!known.includes(system)) throw new Error(`Unknown system ${system}; one of ${known.join(', ')}`);
    return runOne(system);
  }

  const load = loadavg()[0]!;
  console.log(`runtime benchmark: node ${process.version}, ${platform()}/${arch()}, ${cpus().length} CPUs, load average ${load.toFixed(2)}`);
  if (load > cpus().length / 2) console.log('warning: the machine is busy; absolute figures will be low and noisy, ratios less so');
  console.log(`workflows per pass: floor ${N}, langgraph ${LANGGRAPH_N}, symphainy ${N}; sends per pass ${SENDS}; concurrency ${CONCURRENCY.join(' and ')}`);
  const { results, rounds, errors } = await runRounds<SystemName, SystemResult>(SYSTEMS);

  const pass = (s: SystemName, c: number, key: 'workflows' | 'send' = 'workflows'): Pass | undefined =>
    results.get(s)?.[key]?.find((p) => p.concurrency === c);

  console.log('\nDurable workflows (created -> contract -> working -> done), each system in a fresh temp dir:');
  const header = ['system', 'journal', 'synchronous', 'states/wf', 'rows/wf', ...CONCURRENCY.flatMap((c) => [`c=${c} wf/s`, `c=${c} p50 ms`, `c=${c} p99 ms`])];
  const body = SYSTEMS.map((s) => {
    const r = results.get(s);
    return [
      s,
      r?.journalMode ?? 'n/a',
      r?.synchronous ?? 'n/a',
      r ? r.persistedStatesPerWorkflow.toFixed(1) : 'n/a',
      r ? r.rowsWrittenPerWorkflow.toFixed(1) : 'n/a',
      ...CONCURRENCY.flatMap((c) => [fmtRate(pass(s, c)?.perSecond), fmtMs(pass(s, c)?.p50Ms), fmtMs(pass(s, c)?.p99Ms)]),
    ];
  });
  console.log(table([header, ...body]));
  console.log(`wf/s, p50 and p99 are the median round's of ${ROUNDS} (the systems taking turns); wf/s of each round:`);
  for (const s of SYSTEMS) console.log(`  ${s}: ${CONCURRENCY.map((c) => `c=${c} ${roundRates(rounds, s, c)}`).join('; ')}`);
  console.log(
    'states/wf: durable states stored per workflow (floor: snapshots written; langgraph: checkpoints per thread;\n' +
      '  symphainy: states stored, the spawn\'s one write (the first state the actor waits in past its contract decision)\n' +
      '  plus one per commit; steps that settle before the event loop turns share a write). rows/wf: rows changed per\n' +
      '  workflow, from SQLite total_changes().',
  );

  console.log("\nSymphainy send(MESSAGE, { waitFor: { tag: 'waiting' } }) on agent sessions (one session per caller):");
  console.log(
    table([
      ['concurrency', 'sends/s', 'p50 ms', 'p99 ms'],
      ...CONCURRENCY.map((c) => {
        const p = pass('symphainy', c, 'send');
        return [String(c), fmtRate(p?.perSecond), fmtMs(p?.p50Ms), fmtMs(p?.p99Ms)];
      }),
    ]),
  );

  const ratio = (a: SystemName, b: SystemName, c: number): number | undefined => {
    const x = pass(a, c)?.perSecond;
    const y = pass(b, c)?.perSecond;
    return x !== undefined && y !== undefined ? x / y : undefined;
  };
  const verdict = (x: number | undefined, target: number): string => (x === undefined ? 'n/a' : x >= target ? 'met' : 'MISSED');
  const ratios = {
    symphainyVsLangGraph: Object.fromEntries(CONCURRENCY.map((c) => [`c${c}`, ratio('symphainy', 'langgraph', c) ?? null])),
    symphainyVsFloor: Object.fromEntries(CONCURRENCY.map((c) => [`c${c}`, ratio('symphainy', 'floor', c) ?? null])),
  };
  console.log('\nRatios (workflows/s):');
  console.log(
    table([
      ['', ...CONCURRENCY.map((c) => `c=${c}`), 'target', ...CONCURRENCY.map((c) => `c=${c}`)],
      ['Symphainy / LangGraph', ...CONCURRENCY.map((c) => fmtRatio(ratio('symphainy', 'langgraph', c))), `>= ${TARGETS.vsLangGraph}x`, ...CONCURRENCY.map((c) => verdict(ratio('symphainy', 'langgraph', c), TARGETS.vsLangGraph))],
      ['Symphainy / floor', ...CONCURRENCY.map((c) => fmtRatio(ratio('symphainy', 'floor', c))), `>= ${TARGETS.vsFloor}x`, ...CONCURRENCY.map((c) => verdict(ratio('symphainy', 'floor', c), TARGETS.vsFloor))],
    ]),
  );
  const sync = SYSTEMS.map((s) => `${s} ${results.get(s)?.journalMode ?? '?'}/${results.get(s)?.synchronous ?? '?'}/${results.get(s)?.walAutocheckpoint ?? '?'}`).join(', ');
  console.log(`\nSQLite settings read back with PRAGMA journal_mode / synchronous / wal_autocheckpoint: ${sync}`);

  const mongo = MONGO_URL ? await runMongo() : null;
  if (!mongo) console.log('\nMongoDB: skipped (MONGO_URL is not set); set it to also measure Symphainy, LangGraph and the floor on a MongoDB server.');

  console.log(
    `BENCH_JSON ${JSON.stringify({
      bench: 'runtime',
      node: process.version,
      cpus: cpus().length,
      loadAverage: load,
      rounds: ROUNDS,
      systems: Object.fromEntries(SYSTEMS.map((s) => [s, results.get(s) ?? null])),
      workflowsByRound: Object.fromEntries(SYSTEMS.map((s) => [s, rounds.get(s)?.map((r) => r.workflows) ?? []])),
      ratios,
      targets: TARGETS,
      errors,
      mongo: mongo ? mongo.json : { skipped: 'MONGO_URL is not set' },
    })}`,
  );
  if (errors.length > 0 || (mongo && mongo.failed)) process.exitCode = 1;
}

/** The MongoDB half: the three systems on the server at MONGO_URL, a table and the ratios. */
async function runMongo(): Promise<{ json: unknown; failed: boolean }> {
  console.log(`\nMongoDB (${redact(MONGO_URL ?? '')}): workflows per pass: floor ${MONGO_N}, langgraph ${MONGO_LANGGRAPH_N}, symphainy ${MONGO_N}; sends per pass ${MONGO_SENDS}; concurrency ${CONCURRENCY.join(' and ')}`);
  const { results, rounds, errors } = await runRounds<MongoSystemName, MongoSystemResult>(MONGO_SYSTEMS);
  const servers = [...new Set([...results.values()].map((r) => r.server))];
  const pg = postgresDurability();

  const pass = (s: MongoSystemName, c: number, key: 'workflows' | 'send' = 'workflows'): Pass | undefined =>
    results.get(s)?.[key]?.find((p) => p.concurrency === c);
  const short = (s: MongoSystemName): string => s.replace(/-mongo$/, '');

  console.log(`\nDurable workflows on MongoDB: ${servers.join(' / ') || 'n/a'}; each system in a fresh database, dropped afterwards:`);
  const header = ['system', 'states/wf', 'docs/wf', 'cmds/wf', 'writes/wf', ...CONCURRENCY.flatMap((c) => [`c=${c} wf/s`, `c=${c} p50 ms`, `c=${c} p99 ms`])];
  const body = MONGO_SYSTEMS.map((s) => {
    const r = results.get(s);
    return [
      short(s),
      r ? r.persistedStatesPerWorkflow.toFixed(1) : 'n/a',
      r ? r.documentsPerWorkflow.toFixed(1) : 'n/a',
      r ? r.commandsPerWorkflow.toFixed(1) : 'n/a',
      r ? r.writesPerWorkflow.toFixed(1) : 'n/a',
      ...CONCURRENCY.flatMap((c) => [fmtRate(pass(s, c)?.perSecond), fmtMs(pass(s, c)?.p50Ms), fmtMs(pass(s, c)?.p99Ms)]),
    ];
  });
  console.log(table([header, ...body]));
  console.log(`wf/s, p50 and p99 are the median round's of ${ROUNDS} (the systems taking turns); wf/s of each round:`);
  for (const s of MONGO_SYSTEMS) console.log(`  ${short(s)}: ${CONCURRENCY.map((c) => `c=${c} ${roundRates(rounds, s, c)}`).join('; ')}`);
  console.log(
    'states/wf as above. docs/wf: documents the system\'s database holds per workflow run (warm-ups included) once\n' +
      '  its workflow passes end; on FerretDB v1 every lookup reads a whole collection, so each system runs the same\n' +
      '  number of workflows. cmds/wf: commands sent to the server per workflow (round trips, from the driver\'s command\n' +
      '  monitoring; connection handshakes excluded; Symphainy\'s include its background lease and mailbox polling).\n' +
      '  writes/wf: of which insert / update / delete / findAndModify commands.',
  );
  for (const s of MONGO_SYSTEMS) {
    const r = results.get(s);
    if (r) {
      const mix = Object.entries(r.commandMix)
        .sort((a, b) => b[1] - a[1])
        .map(([name, k]) => `${name} ${k.toFixed(2)}`)
        .join(', ');
      console.log(`  ${short(s)}: ${r.description}; write concern ${r.writeConcern}; per workflow: ${mix}`);
    }
  }

  console.log("\nSymphainy on MongoDB: send(MESSAGE, { waitFor: { tag: 'waiting' } }) on agent sessions (one session per caller):");
  const sym = results.get('symphainy-mongo');
  console.log(
    table([
      ['concurrency', 'sends/s', 'p50 ms', 'p99 ms', 'failed'],
      ...CONCURRENCY.map((c) => {
        const p = pass('symphainy-mongo', c, 'send');
        return [String(c), fmtRate(p?.perSecond), fmtMs(p?.p50Ms), fmtMs(p?.p99Ms), p ? `${p.failed ?? 0}/${p.n}` : 'n/a'];
      }),
    ]),
  );
  if (sym?.commandsPerSend !== undefined) console.log(`  ${sym.commandsPerSend.toFixed(1)} commands per send; sends/s counts the sends that succeeded.`);
  if (sym && Object.keys(sym.sendErrors ?? {}).length > 0) {
    console.log(`  failed sends (warm-up included) by error: ${Object.entries(sym.sendErrors ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  if (sym?.runtimeWarnings) {
    const w = sym.runtimeWarnings;
    const detail = Object.entries(w.byMessage).map(([k, v]) => `${v}x ${k}`).join('; ');
    console.log(`  runtime warnings: ${w.duringExecutions} during the execution passes, ${w.duringSends} during the send passes${detail ? ` (${detail})` : ''}`);
    if (w.duringExecutions + w.duringSends > 0 && servers.some((x) => x.startsWith('FerretDB'))) {
      console.log(
        '  note: FerretDB v1 applies an update by reading the document and writing it back whole, without a check, so two\n' +
          '  concurrent updates of one actor document (a lease renewal and a commit or an append) can undo each other; the\n' +
          "  owner then sees version-conflict and drops its copy until the lease expires (15 s). MongoDB's updates are atomic.",
      );
    }
  }

  const ratio = (a: MongoSystemName, b: MongoSystemName, c: number): number | undefined => {
    const x = pass(a, c)?.perSecond;
    const y = pass(b, c)?.perSecond;
    return x !== undefined && y !== undefined ? x / y : undefined;
  };
  const verdict = (x: number | undefined, target: number): string => (x === undefined ? 'n/a' : x >= target ? 'met' : 'MISSED');
  const ratios = {
    symphainyVsLangGraph: Object.fromEntries(CONCURRENCY.map((c) => [`c${c}`, ratio('symphainy-mongo', 'langgraph-mongo', c) ?? null])),
    symphainyVsFloor: Object.fromEntries(CONCURRENCY.map((c) => [`c${c}`, ratio('symphainy-mongo', 'floor-mongo', c) ?? null])),
    floorVsLangGraph: Object.fromEntries(CONCURRENCY.map((c) => [`c${c}`, ratio('floor-mongo', 'langgraph-mongo', c) ?? null])),
  };
  console.log('\nRatios on MongoDB (workflows/s, same server):');
  console.log(
    table([
      ['', ...CONCURRENCY.map((c) => `c=${c}`), 'target', ...CONCURRENCY.map((c) => `c=${c}`)],
      [
        'Symphainy / LangGraph',
        ...CONCURRENCY.map((c) => fmtRatio(ratio('symphainy-mongo', 'langgraph-mongo', c))),
        `>= ${TARGETS.vsLangGraph}x`,
        ...CONCURRENCY.map((c) => verdict(ratio('symphainy-mongo', 'langgraph-mongo', c), TARGETS.vsLangGraph)),
      ],
      [
        'Symphainy / floor',
        ...CONCURRENCY.map((c) => fmtRatio(ratio('symphainy-mongo', 'floor-mongo', c))),
        `>= ${TARGETS.vsFloor}x`,
        ...CONCURRENCY.map((c) => verdict(ratio('symphainy-mongo', 'floor-mongo', c), TARGETS.vsFloor)),
      ],
      ['floor / LangGraph', ...CONCURRENCY.map((c) => fmtRatio(ratio('floor-mongo', 'langgraph-mongo', c))), '', ...CONCURRENCY.map(() => '')],
    ]),
  );
  console.log(
    '  floor / LangGraph: how far writing each snapshot once, and nothing else, gets against LangGraph on this server;\n' +
      '  Symphainy / LangGraph is that ratio times Symphainy / floor. Symphainy writes fewer states than the floor (a spawn\n' +
      '  is stored at the first state it waits in, and steps that settle without I/O share a write; see states/wf), so it\n' +
      '  can pass the floor.',
  );
  console.log(
    `\nMongoDB server: ${servers.join(' / ') || 'n/a'}. All three use the driver's default write concern on the same server` +
      (pg ? `; its PostgreSQL (PG_URL's cluster) runs with ${pg}, so absolute rates are optimistic for every system alike.` : '.'),
  );
  return {
    json: {
      servers,
      postgres: pg,
      systems: Object.fromEntries(MONGO_SYSTEMS.map((s) => [s, results.get(s) ?? null])),
      workflowsByRound: Object.fromEntries(MONGO_SYSTEMS.map((s) => [s, rounds.get(s)?.map((r) => r.workflows) ?? []])),
      ratios,
      targets: TARGETS,
      errors,
    },
    failed: errors.length > 0,
  };
}

/** A connection string without its password. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'MONGO_URL';
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
