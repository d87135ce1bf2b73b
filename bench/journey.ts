/**
 * @module bench/journey
 * BPMN → SOP time against a bare `bpmn-moddle` import of the same document, in one run:
 *
 * - the largest whole document of `../shared/data/bpmn` (by bytes; fragments `*.part.bpmn`
 *   and refused documents are skipped);
 * - a generated process of exactly 5,000 flow nodes in four lanes: sequences, exclusive
 *   choices, parallel blocks, loops, boundary error events with handlers.
 *
 * For each document three timings, run round-robin (median of at least `BENCH_JOURNEY_PASSES`
 * passes and 3 s of measuring, after warm-up):
 * - `moddle`: `new BpmnModdle().fromXML(text)`, the baseline;
 * - `walk`: `generateSop(model)` on an already imported model (graph, walk, roles, Markdown);
 * - `sop`: the whole path, `importBpmn(bytes)` (decode, DOCTYPE check, bpmn-moddle, model)
 *   plus `generateSop`.
 * Ratios are to `moddle`. Target (issue 7): `sop` within 2x of the bare import, i.e. all our
 * work on top of the reader costs no more than the reader itself.
 *
 * Usage: `node --import tsx bench/journey.ts`. `BENCH_JOURNEY_PASSES` (default 7) sets the
 * measured passes, `BENCH_JOURNEY_NODES` (default 5000) the generated model's size.
 */
import { readFileSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { BpmnModdle } from 'bpmn-moddle';
import { importBpmn } from '../src/realms/journey/import.js';
import { isTaskLike } from '../src/realms/journey/model.js';
import { generateSop } from '../src/realms/journey/sop.js';
import type { SopStep } from '../src/realms/journey/types.js';
import { generatedProcess } from './lib/bpmn.js';
import { envInt } from './lib/measure.js';

const DATA = new URL('../../shared/data/bpmn/', import.meta.url).pathname;
const TARGET_RATIO = 2;

const PASSES = envInt('BENCH_JOURNEY_PASSES', 7);
const NODES = envInt('BENCH_JOURNEY_NODES', 5000);
const WARMUP = 2;
const MIN_SECONDS = 3;

/** The largest whole document the manifest expects to import (or report). */
function largestFixture(): { name: string; bytes: Buffer } {
  const manifest = JSON.parse(readFileSync(join(DATA, 'manifest.json'), 'utf8')) as { files: { file: string; expect: string }[] };
  let best: { name: string; size: number } | undefined;
  for (const f of manifest.files) {
    if (f.expect === 'refuse' || f.file.endsWith('.part.bpmn')) continue;
    const size = statSync(join(DATA, f.file)).size;
    if (!best || size > best.size) best = { name: f.file, size };
  }
  if (!best) throw new Error(`no BPMN documents in ${DATA}`);
  return { name: best.name, bytes: readFileSync(join(DATA, best.name)) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/**
 * Medians of `fs`, run round-robin (one of each per pass) so that load from other processes
 * on the machine falls on every contender alike.
 */
async function timeEach(minPasses: number, fs: (() => Promise<unknown> | unknown)[]): Promise<{ medians: number[]; passes: number }> {
  const t0 = performance.now();
  for (let i = 0; i < WARMUP; i++) for (const f of fs) await f();
  // Small documents get more passes: at least MIN_SECONDS of measuring, so one slow pass
  // (another process taking the CPU) does not move the median.
  const perPass = (performance.now() - t0) / WARMUP;
  const passes = Math.max(minPasses, Math.ceil((MIN_SECONDS * 1000) / Math.max(perPass, 1)));
  const ms: number[][] = fs.map(() => []);
  for (let i = 0; i < passes; i++) {
    for (let k = 0; k < fs.length; k++) {
      const t0 = performance.now();
      await (fs[k] as () => Promise<unknown> | unknown)();
      ms[k]?.push(performance.now() - t0);
    }
  }
  return { medians: ms.map(median), passes };
}

function countSteps(steps: SopStep[]): number {
  return steps.reduce((n, s) => n + 1 + countSteps(s.substeps ?? []), 0);
}

interface Row {
  document: string;
  bytes: number;
  flowNodes: number;
  steps: number;
  passes: number;
  moddleMs: number;
  walkMs: number;
  sopMs: number;
}

async function measure(document: string, bytes: Buffer): Promise<Row> {
  const text = bytes.toString('utf8');
  const { model } = await importBpmn(bytes);
  const sop = generateSop(model);
  // Every task is a step exactly once: the walk measured here is the real one.
  const refs = new Map<string, number>();
  const walk = (ss: SopStep[]) => ss.forEach((s) => (refs.set(s.bpmnRef, (refs.get(s.bpmnRef) ?? 0) + 1), walk(s.substeps ?? [])));
  walk(sop.steps);
  for (const n of model.nodes.filter(isTaskLike)) if (refs.get(n.id) !== 1) throw new Error(`${document}: task ${n.id} appears ${refs.get(n.id) ?? 0} times`);
  const {
    medians: [moddleMs = 0, walkMs = 0, sopMs = 0],
    passes,
  } = await timeEach(PASSES, [
    () => new BpmnModdle().fromXML(text),
    () => generateSop(model),
    async () => generateSop((await importBpmn(bytes)).model),
  ]);
  return { document, bytes: bytes.length, flowNodes: model.nodes.length, steps: countSteps(sop.steps), passes, moddleMs, walkMs, sopMs };
}

async function main(): Promise<void> {
  const fixture = largestFixture();
  const generated = generatedProcess(NODES);
  console.log(`node ${process.version}, ${cpus().length} CPUs, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}; at least ${PASSES} passes (and ${MIN_SECONDS} s) after ${WARMUP} warm-up, round-robin, medians in ms`);
  const rows = [await measure(fixture.name, fixture.bytes), await measure(`generated (${NODES} flow nodes)`, Buffer.from(generated))];
  const pad = (s: string, n: number) => s.padEnd(n);
  const num = (x: number) => x.toFixed(1).padStart(9);
  console.log(`${pad('document', 34)} ${'bytes'.padStart(9)} ${'nodes'.padStart(6)} ${'steps'.padStart(6)} ${'passes'.padStart(6)} ${'moddle'.padStart(9)} ${'walk'.padStart(9)} ${'sop'.padStart(9)}  walk/moddle  sop/moddle`);
  let ok = true;
  for (const r of rows) {
    const walkRatio = r.walkMs / r.moddleMs;
    const sopRatio = r.sopMs / r.moddleMs;
    if (sopRatio > TARGET_RATIO) ok = false;
    console.log(
      `${pad(r.document, 34)} ${String(r.bytes).padStart(9)} ${String(r.flowNodes).padStart(6)} ${String(r.steps).padStart(6)} ${String(r.passes).padStart(6)} ${num(r.moddleMs)} ${num(r.walkMs)} ${num(r.sopMs)}  ${walkRatio.toFixed(2).padStart(10)}x ${sopRatio.toFixed(2).padStart(10)}x`,
    );
  }
  console.log(`target: sop (import + SOP) within ${TARGET_RATIO}x of the bare bpmn-moddle import: ${ok ? 'met' : 'NOT met'}`);
}

await main();
