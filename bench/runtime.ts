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
 * Usage: `node --import tsx bench/runtime.ts` (all systems), or `--system=<name>` for one.
 * `BENCH_N`, `BENCH_LANGGRAPH_N`, `BENCH_SENDS` override the pass sizes.
 */
import { spawn } from 'node:child_process';
import { arch, cpus, loadavg, platform } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Pass } from './lib/measure.js';
import type { SystemName, SystemOptions, SystemResult } from './runtime/types.js';

const CONCURRENCY = [1, 16] as const;
const SYSTEMS: readonly SystemName[] = ['floor', 'langgraph', 'symphainy'];
const RESULT_PREFIX = 'BENCH_SYSTEM_RESULT ';
const TARGETS = { vsLangGraph: 10, vsFloor: 0.5 } as const;

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}

const N = envInt('BENCH_N', 4000);
const LANGGRAPH_N = envInt('BENCH_LANGGRAPH_N', 400);
const SENDS = envInt('BENCH_SENDS', 2000);

/** Runs one system in this process and prints its result as one prefixed JSON line. */
async function runOne(system: SystemName): Promise<void> {
  // Every system warms up until the JIT has settled, so the ratios compare steady states.
  const base: SystemOptions = { n: N, warmup: envInt('BENCH_WARMUP', 1000), concurrency: CONCURRENCY };
  let result: SystemResult;
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
  }
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
}

/** Runs `--system=<name>` in a child process; resolves with its result, or the reason it has none. */
function runChild(system: SystemName): Promise<SystemResult | { system: SystemName; error: string }> {
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
      if (code === 0 && line) return resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as SystemResult);
      const reason = err.trim().split('\n').slice(0, 6).join('\n') || out.trim() || `exit code ${code}`;
      resolve({ system, error: reason });
    });
  });
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
    const system = arg.slice('--system='.length) as SystemName;
    if (!SYSTEMS.includes(system)) throw new Error(`Unknown system ${system}; one of ${SYSTEMS.join(', ')}`);
    return runOne(system);
  }

  const load = loadavg()[0]!;
  console.log(`runtime benchmark: node ${process.version}, ${platform()}/${arch()}, ${cpus().length} CPUs, load average ${load.toFixed(2)}`);
  if (load > cpus().length / 2) console.log('warning: the machine is busy; absolute figures will be low and noisy, ratios less so');
  console.log(`workflows per pass: floor ${N}, langgraph ${LANGGRAPH_N}, symphainy ${N}; sends per pass ${SENDS}; concurrency ${CONCURRENCY.join(' and ')}`);
  const results = new Map<SystemName, SystemResult>();
  const errors: { system: SystemName; error: string }[] = [];
  for (const system of SYSTEMS) {
    const started = Date.now();
    const r = await runChild(system);
    if ('error' in r) {
      errors.push(r);
      console.log(`  ${system}: FAILED\n${r.error.replace(/^/gm, '    ')}`);
    } else {
      results.set(system, r);
      console.log(`  ${system}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  }

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
  console.log(
    'states/wf: durable states stored per workflow (floor: snapshots written; langgraph: checkpoints per thread;\n' +
      '  symphainy: states stored, the spawn record plus one per commit). rows/wf: rows changed per workflow, from SQLite total_changes().',
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

  console.log(
    `BENCH_JSON ${JSON.stringify({
      bench: 'runtime',
      node: process.version,
      cpus: cpus().length,
      loadAverage: load,
      systems: Object.fromEntries(SYSTEMS.map((s) => [s, results.get(s) ?? null])),
      ratios,
      targets: TARGETS,
      errors,
    })}`,
  );
  if (errors.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
