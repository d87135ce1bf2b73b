/**
 * @module bench/run
 * `npm run bench`: runs every benchmark script at the top of `bench/` (each `*.ts` but this
 * one; helpers live in subfolders), one after the other, each in its own
 * `node --import tsx` child process, passing its output through. Exits non-zero if any fails.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const self = basename(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const scripts = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== self && !f.endsWith('.d.ts'))
  .filter((f) => only.length === 0 || only.includes(f) || only.includes(f.replace(/\.ts$/, '')))
  .sort();

let failed = 0;
for (const script of scripts) {
  console.log(`\n=== bench/${script} ===`);
  const started = Date.now();
  const { status, signal } = spawnSync(process.execPath, ['--import', 'tsx', join(here, script)], { stdio: 'inherit' });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (status === 0) console.log(`=== bench/${script}: ok in ${seconds} s ===`);
  else {
    failed++;
    console.log(`=== bench/${script}: FAILED (${signal ?? `exit ${status}`}) after ${seconds} s ===`);
  }
}
if (scripts.length === 0) console.log('No benchmarks found in bench/.');
process.exitCode = failed > 0 ? 1 : 0;
