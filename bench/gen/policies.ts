/**
 * @module bench/gen/policies
 * Writes a realistic legacy life-insurance policy extract as CSV: one row per policy, 22
 * columns named with the legacy synonyms of DOMAIN.md section 5 (`POL_NO`, `PLAN_CD`,
 * `ISSUE_DT`, `FACE_AMT`, …). What makes it realistic for a parser and a profiler:
 *
 * - policy numbers `LP0001234567`, product codes, state and status codes;
 * - dates in three legacy formats: `YYYYMMDD` (`ISSUE_DT`, `DOB`), `MM/DD/YYYY` (`STAT_DT`)
 *   and `DD-MON-YY` (`MAT_DT`);
 * - implied-decimal amounts: `FACE_AMT` `000025000000` is 250,000.00, `MODAL_PREM`
 *   `000012345` is 123.45;
 * - quoted names with commas (`"SMITH, JOHN A"`), addresses with commas, free-text notes
 *   with doubled quotes and quoted newlines (about 1 row in 12);
 * - PII: names, SSNs, dates of birth, emails, phones, street addresses.
 *
 * Deterministic: the same seed and size give the same bytes on every machine (a 32-bit
 * PRNG, integer arithmetic only). Streaming: rows are produced in blocks and written with
 * back-pressure, so a 1 GiB file costs a few MiB of memory.
 *
 * Usage: `node --import tsx bench/gen/policies.ts --out /tmp/policies.csv [--rows 350000]
 * [--bytes 1GiB] [--seed 42]`. With `--bytes` the generator writes rows until the file holds
 * at least that many bytes (`--rows` is then ignored).
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** The extract's columns, in order. */
export const POLICY_COLUMNS = [
  'POL_NO',
  'PLAN_CD',
  'PROD_TYPE',
  'ISSUE_DT',
  'ISS_ST',
  'FACE_AMT',
  'POL_STAT',
  'STAT_DT',
  'MAT_DT',
  'CLIENT_NO',
  'FIRST_NM',
  'LAST_NM',
  'OWNER_NM',
  'DOB',
  'SEX_CD',
  'SSN',
  'ADDR1',
  'ZIP',
  'EMAIL_ADDR',
  'PHONE_NO',
  'MODAL_PREM',
  'NOTES',
] as const;

export interface PolicyGenOptions {
  /** Rows to write. @defaultValue 350000 */
  rows?: number;
  /** When set, rows are written until the output holds at least this many bytes. */
  bytes?: number;
  /** @defaultValue 42 */
  seed?: number;
  /** Rows per yielded block. @defaultValue 2000 */
  blockRows?: number;
}

/** mulberry32: a 32-bit PRNG with integer arithmetic only (identical everywhere). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const FIRST = ['JOHN', 'MARY', 'ROBERT', 'PATRICIA', 'JAMES', 'JENNIFER', 'MICHAEL', 'LINDA', 'WILLIAM', 'ELIZABETH', 'DAVID', 'BARBARA', 'RICHARD', 'SUSAN', 'JOSEPH', 'JESSICA', 'THOMAS', 'SARAH', 'CHARLES', 'KAREN', 'JOSÉ', 'ZOË', 'ANDRÉ', 'CHLOÉ'];
const LAST = ['SMITH', 'JOHNSON', 'WILLIAMS', 'BROWN', 'JONES', 'GARCIA', 'MILLER', 'DAVIS', 'RODRIGUEZ', 'MARTINEZ', 'HERNANDEZ', 'LOPEZ', 'GONZALEZ', 'WILSON', 'ANDERSON', "O'BRIEN", 'MÜLLER', 'NGUYEN', 'KIM', 'PATEL'];
const STREETS = ['MAIN ST', 'OAK AVE', 'MAPLE DR', 'CEDAR LN', 'ELM ST', 'PARK BLVD', 'LAKE RD', 'HILL ST', 'WASHINGTON AVE', 'SUNSET BLVD'];
const STATES = ['CA', 'TX', 'NY', 'FL', 'IL', 'PA', 'OH', 'GA', 'NC', 'MI', 'NJ', 'VA', 'WA', 'AZ', 'MA'];
const PLANS = ['T10', 'T20', 'T30', 'WL100', 'WL65', 'UL01', 'UL02', 'VUL1', 'IUL5'];
const TYPES: Record<string, string> = { T10: 'TERM', T20: 'TERM', T30: 'TERM', WL100: 'WL', WL65: 'WL', UL01: 'UL', UL02: 'UL', VUL1: 'VUL', IUL5: 'IUL' };
const STATUSES = ['ACTIVE', 'ACTIVE', 'ACTIVE', 'ACTIVE', 'LAPSED', 'GRACE', 'PAID_UP', 'SURRENDERED', 'CLAIM', 'REINSTATED', 'PENDING', 'MATURED', 'TERMINATED'];
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DOMAINS = ['example.com', 'mail.example.org', 'corp.example.net'];
const NOTES = [
  'Conversion from legacy admin system',
  'Beneficiary change requested',
  'Premium notice returned, address updated',
  'Rider ADB added at issue',
  'Reinstated after lapse; evidence of insurability received',
  'Owner called re: "cash value" statement',
  'Loan repaid in full',
  '',
  '',
  '',
];

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function quote(value: string): string {
  return `"${value.replace(/"/g, '""')}"`;
}

/** One policy row (no line break). */
function row(rand: () => number, index: number): string {
  const pick = <T>(xs: readonly T[]): T => xs[rand() % xs.length]!;
  const plan = pick(PLANS);
  const first = pick(FIRST);
  const last = pick(LAST);
  const middle = String.fromCharCode(65 + (rand() % 26));
  const birthYear = 1930 + (rand() % 70);
  const birthMonth = 1 + (rand() % 12);
  const birthDay = 1 + (rand() % 28);
  const issueAge = 18 + (rand() % 50);
  const issueYear = Math.min(2024, birthYear + issueAge);
  const issueMonth = 1 + (rand() % 12);
  const issueDay = 1 + (rand() % 28);
  const statYear = issueYear + (rand() % Math.max(1, 2025 - issueYear));
  const matYear = (issueYear + 20 + (rand() % 60)) % 100;
  const face = (25 + (rand() % 400)) * 1_000_000; // cents: 250,000.00 … 4,240,000.00
  const premium = 1000 + (rand() % 900_000); // cents
  const ssn = `${pad(100 + (rand() % 800), 3)}-${pad(1 + (rand() % 99), 2)}-${pad(1 + (rand() % 9999), 4)}`;
  const street = `${1 + (rand() % 9999)} ${pick(STREETS)}`;
  const addr = rand() % 4 === 0 ? `${street}, APT ${1 + (rand() % 40)}` : street;
  const noteRoll = rand() % 12;
  let notes = pick(NOTES);
  if (noteRoll === 0) notes = `Called ${MONTHS[issueMonth - 1]} ${issueDay}, said "will pay next week".\nFollow-up set, ref ${pad(rand() % 100000, 5)}`;
  const fields = [
    `LP${pad(index + 1, 10)}`,
    plan,
    TYPES[plan]!,
    `${issueYear}${pad(issueMonth, 2)}${pad(issueDay, 2)}`,
    pick(STATES),
    pad(face, 12),
    pick(STATUSES),
    `${pad(1 + (rand() % 12), 2)}/${pad(1 + (rand() % 28), 2)}/${statYear}`,
    `${pad(1 + (rand() % 28), 2)}-${MONTHS[rand() % 12]}-${pad(matYear, 2)}`,
    `C${pad(rand() % 100_000_000, 8)}`,
    first,
    last,
    quote(`${last}, ${first} ${middle}`),
    `${birthYear}${pad(birthMonth, 2)}${pad(birthDay, 2)}`,
    rand() % 2 === 0 ? 'M' : 'F',
    ssn,
    addr.includes(',') ? quote(addr) : addr,
    rand() % 5 === 0 ? `${pad(rand() % 100000, 5)}-${pad(rand() % 10000, 4)}` : pad(rand() % 100000, 5),
    `${first.toLowerCase().replace(/[^a-z]/g, '')}.${last.toLowerCase().replace(/[^a-z]/g, '')}${rand() % 100}@${pick(DOMAINS)}`,
    `(${pad(200 + (rand() % 800), 3)}) ${pad(200 + (rand() % 800), 3)}-${pad(rand() % 10000, 4)}`,
    pad(premium, 9),
    notes.includes('"') || notes.includes('\n') || notes.includes(',') ? quote(notes) : notes,
  ];
  return fields.join(',');
}

/** Yields the extract as text blocks: the header first, then blocks of rows, CRLF-free. */
export async function* generatePolicies(options: PolicyGenOptions = {}): AsyncGenerator<string> {
  const rand = prng(options.seed ?? 42);
  const blockRows = options.blockRows ?? 2000;
  const byBytes = options.bytes !== undefined;
  const rows = options.rows ?? 350_000;
  let written = 0;
  const header = POLICY_COLUMNS.join(',') + '\n';
  yield header;
  written += Buffer.byteLength(header);
  let index = 0;
  while (byBytes ? written < options.bytes! : index < rows) {
    const lines: string[] = [];
    const end = byBytes ? index + blockRows : Math.min(rows, index + blockRows);
    for (; index < end; index++) lines.push(row(rand, index));
    const block = lines.join('\n') + '\n';
    written += Buffer.byteLength(block);
    yield block;
  }
}

function parseSize(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kib|mib|gib|kb|mb|gb)?$/i.exec(raw.trim());
  if (!m) throw new Error(`Not a size: ${raw}`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const mult = { b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, kb: 1e3, mb: 1e6, gb: 1e9 }[unit]!;
  return Math.round(Number(m[1]) * mult);
}

/** Writes the extract to `path`; resolves with the bytes and rows written. */
export async function writePolicies(path: string, options: PolicyGenOptions = {}): Promise<{ bytes: number; blocks: number }> {
  const out = createWriteStream(path);
  let bytes = 0;
  let blocks = 0;
  for await (const block of generatePolicies(options)) {
    bytes += Buffer.byteLength(block);
    blocks++;
    if (!out.write(block)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return { bytes, blocks };
}

async function main(argv: string[]): Promise<void> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) args.set(a.slice(2), argv[i + 1] ?? '');
  }
  const out = args.get('out');
  if (!out) throw new Error('--out <path> is required');
  const options: PolicyGenOptions = { seed: Number(args.get('seed') ?? 42) };
  if (args.has('rows')) options.rows = Number(args.get('rows'));
  if (args.has('bytes')) options.bytes = parseSize(args.get('bytes')!);
  const t0 = Date.now();
  const { bytes } = await writePolicies(out, options);
  process.stdout.write(`wrote ${out}: ${(bytes / 1024 ** 2).toFixed(1)} MiB in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main(process.argv.slice(2));
}
