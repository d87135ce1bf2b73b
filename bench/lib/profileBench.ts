/**
 * @module bench/lib/profileBench
 * Micro-benchmark of the profiler's hot path: N synthetic legacy policy rows (20 string
 * columns, the value mix of a life-insurance extract) fed to `createProfiler().add` in
 * batches. Only `add` is timed (generation is not); `finish` (candidate-key confirmation on
 * disk) is timed apart.
 */
import { performance } from 'node:perf_hooks';
import type { RecordRow } from '../../src/persistence/ports.js';
import { createProfiler } from '../../src/realms/content/profile/index.js';

export const POLICY_COLUMNS = [
  'POL_NO', 'PLAN_CD', 'PROD_TYPE', 'ISSUE_DT', 'ISS_ST', 'FACE_AMT', 'POL_STAT', 'STAT_DT', 'MAT_DT', 'CSV_AMT',
  'FIRST_NM', 'LAST_NM', 'DOB', 'SEX_CD', 'SSN', 'ADDR1', 'ZIP', 'PHONE_NO', 'MODAL_PREM', 'NOTES',
] as const;

const PLANS = ['TERM10', 'TERM20', 'WL100', 'UL2000', 'VUL01', 'IUL5'];
const TYPES = ['TERM', 'TERM', 'WL', 'UL', 'VUL', 'IUL'];
const STATES = ['NY', 'CA', 'TX', 'FL', 'IL', 'PA', 'OH', 'GA', 'NC', 'MI', 'NJ', 'VA'];
const STATUS = ['ACTIVE', 'ACTIVE', 'ACTIVE', 'LAPSED', 'GRACE', 'PAID_UP', 'SURRENDERED', 'CLAIM'];
const FIRST = ['JAMES', 'MARY', 'ROBERT', 'PATRICIA', 'JOHN', 'JENNIFER', 'MICHAEL', 'LINDA', 'DAVID', 'ELIZABETH', 'WILLIAM', 'BARBARA'];
const LAST = ['SMITH', 'JOHNSON', 'WILLIAMS', 'BROWN', 'JONES', "O'BRIEN", 'GARCIA', 'MILLER', 'DAVIS', 'SMITH-JONES', 'WILSON', 'MOORE'];
const STREETS = ['Main St', 'Oak Ave', 'Maple Dr', 'Cedar Ln', 'Elm St', 'Park Blvd'];
const MON = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const NOTES = ['', '', '', 'Reinstated after lapse, see memo', 'Owner change 2019', 'Beneficiary updated per request', 'Address verified'];

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/** Deterministic xorshift32. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** Rows `first … first + count - 1` (1-based) of the synthetic extract. */
export function policyRows(first: number, count: number, seed = 7): RecordRow[] {
  const rand = rng(seed ^ Math.imul(first, 2654435761));
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
  const out: RecordRow[] = new Array<RecordRow>(count);
  for (let i = 0; i < count; i++) {
    const row = first + i;
    const y = 1980 + Math.floor(rand() * 44);
    const m = 1 + Math.floor(rand() * 12);
    const d = 1 + Math.floor(rand() * 28);
    const by = 1930 + Math.floor(rand() * 70);
    const plan = Math.floor(rand() * PLANS.length);
    out[i] = {
      row,
      line: row + 1,
      values: [
        `P${pad(row, 9)}`,
        PLANS[plan]!,
        TYPES[plan]!,
        `${y}${pad(m, 2)}${pad(d, 2)}`,
        pick(STATES),
        pad(Math.floor(rand() * 100000000), 11),
        pick(STATUS),
        `${pad(m, 2)}/${pad(d, 2)}/${y + 1}`,
        `${pad(d, 2)}-${MON[m - 1]!}-${pad((y + 40) % 100, 2)}`,
        rand() < 0.1 ? '' : pad(Math.floor(rand() * 10000000), 9),
        pick(FIRST),
        pick(LAST),
        `${by}-${pad(m, 2)}-${pad(d, 2)}`,
        rand() < 0.5 ? 'M' : 'F',
        `${pad(100 + Math.floor(rand() * 800), 3)}-${pad(10 + Math.floor(rand() * 89), 2)}-${pad(Math.floor(rand() * 10000), 4)}`,
        `${1 + Math.floor(rand() * 9999)} ${pick(STREETS)}`,
        pad(Math.floor(rand() * 99999), 5),
        `(${200 + Math.floor(rand() * 799)}) ${pad(Math.floor(rand() * 1000), 3)}-${pad(Math.floor(rand() * 10000), 4)}`,
        `${Math.floor(rand() * 2000)}.${pad(Math.floor(rand() * 100), 2)}`,
        pick(NOTES),
      ],
    };
  }
  return out;
}

export interface ProfileBenchResult {
  rows: number;
  columns: number;
  /** Wall-clock seconds spent in `add` only. */
  addSeconds: number;
  /** Rows per wall-clock second through `add`. */
  rowsPerSec: number;
  /** CPU seconds (user + system) spent in `add`: stable on a shared machine. */
  addCpuSeconds: number;
  /** Rows per CPU second through `add`. */
  rowsPerCpuSec: number;
  /** Seconds spent in `finish` (key confirmation, profile assembly). */
  finishSeconds: number;
  candidateKeys: string[][];
}

/** Profiles `n` synthetic policy rows in batches of `batchSize` and reports the rates. */
export async function profileBench(n: number, options: { batchSize?: number; tmpDir?: string; keyCheck?: boolean } = {}): Promise<ProfileBenchResult> {
  const batchSize = options.batchSize ?? 1000;
  const profiler = createProfiler(POLICY_COLUMNS, { tmpDir: options.tmpDir, keyCheck: options.keyCheck ?? true });
  let addMs = 0;
  let addCpuUs = 0;
  try {
    for (let first = 1; first <= n; first += batchSize) {
      const batch = policyRows(first, Math.min(batchSize, n - first + 1));
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      profiler.add(batch);
      addMs += performance.now() - t0;
      const c = process.cpuUsage(c0);
      addCpuUs += c.user + c.system;
    }
    const t1 = performance.now();
    const { profile } = await profiler.finish();
    const finishMs = performance.now() - t1;
    return {
      rows: n,
      columns: POLICY_COLUMNS.length,
      addSeconds: addMs / 1000,
      rowsPerSec: n / (addMs / 1000),
      addCpuSeconds: addCpuUs / 1e6,
      rowsPerCpuSec: n / (addCpuUs / 1e6),
      finishSeconds: finishMs / 1000,
      candidateKeys: profile.candidateKeys,
    };
  } finally {
    profiler.close();
  }
}
