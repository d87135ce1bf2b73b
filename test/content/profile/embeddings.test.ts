/**
 * `fh-v1` deterministic embeddings: MurmurHash3 reference values, similarity of synonyms,
 * normalisation, and bit-identical vectors across processes (byte-compared).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ABBREVIATIONS_V1,
  columnVector,
  cosine,
  embedColumns,
  murmur3,
  passageVector,
  recordVector,
  splitName,
} from '../../../src/realms/content/embeddings/index.js';
import { embeddingBytes } from './fixtures/embedVectors.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const WORKER = fileURLToPath(new URL('./fixtures/embed-worker.ts', import.meta.url));

function runWorker(): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out.trim().split('\n')) : reject(new Error(`worker exited ${code}: ${err}`))));
  });
}

describe('fh-v1 embeddings', () => {
  it('hashes with MurmurHash3 x86 32-bit over UTF-8 (reference values)', () => {
    expect(murmur3('', 0)).toBe(0);
    expect(murmur3('', 1)).toBe(0x514e28b7);
    expect(murmur3('hello', 0)).toBe(0x248bfa47);
    expect(murmur3('Hello, world!', 1234)).toBe(0xfaf6cdb3);
    expect(murmur3('ππππππππ', 0x9747b28c)).toBe(0xd58063c1);
  });

  it('splits names on case and separators and expands legacy abbreviations', () => {
    expect(splitName('POL_NO')).toEqual(['pol', 'no']);
    expect(splitName('policyNumber')).toEqual(['policy', 'number']);
    expect(splitName('ADDR_LINE_1')).toEqual(['addr', 'line', '1']);
    expect(ABBREVIATIONS_V1.benef).toBe('beneficiary');
    expect(ABBREVIATIONS_V1.amt).toBe('amount');
  });

  it('puts synonyms closer than unrelated names', () => {
    const v = (name: string): Float32Array => columnVector({ name });
    expect(cosine(v('POL_NO'), v('POLICY_NUMBER'))).toBeGreaterThan(0.6);
    expect(cosine(v('POL_NO'), v('POLICY_NUMBER'))).toBeGreaterThan(cosine(v('POL_NO'), v('LAST_NM')) + 0.4);
    expect(cosine(v('ISSUE_DT'), v('issueDate'))).toBeGreaterThan(cosine(v('ISSUE_DT'), v('FACE_AMT')));
    expect(cosine(v('BENE_NM'), v('beneficiaryName'))).toBeGreaterThan(cosine(v('BENE_NM'), v('PREM_MODE')));
    expect(cosine(v('FACE_AMT'), v('faceAmount'))).toBeGreaterThan(cosine(v('FACE_AMT'), v('ISS_ST')));
  });

  it('uses type, shapes and sampled values', () => {
    const a = columnVector({ name: 'X', inferredType: 'date', patterns: [{ shape: '99999999', share: 1 }] }, ['20200101', '20210505']);
    const b = columnVector({ name: 'Y', inferredType: 'date', patterns: [{ shape: '99999999', share: 1 }] }, ['20200102', '20210506']);
    const c = columnVector({ name: 'Z', inferredType: 'text', patterns: [{ shape: 'AAAA', share: 1 }] }, ['John', 'Mary']);
    expect(cosine(a, b)).toBeGreaterThan(cosine(a, c));
  });

  it('returns L2-normalised float32 vectors of the requested size', () => {
    for (const v of [columnVector({ name: 'POL_NO' }), recordVector(['A', 'B'], ['1', null]), passageVector('Grace period of 31 days.')]) {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v.length).toBe(256);
      expect(Math.abs(v.reduce((s, x) => s + x * x, 0) - 1)).toBeLessThan(1e-6);
    }
    expect(columnVector({ name: 'POL_NO' }, [], 64).length).toBe(64);
    expect(Array.from(passageVector(''))).toEqual(new Array(256).fill(0));
  });

  it('builds the EmbeddingSet body in profile column order', () => {
    const set = embedColumns({ datasetId: 'd1', columns: [{ name: 'POL_NO' }, { name: 'DOB' }] }, [{ name: 'DOB', values: ['1970-01-01'] }], { dims: 32 });
    expect(set.algorithm).toBe('fh-v1');
    expect(set.dims).toBe(32);
    expect(set.columns.map((c) => c.name)).toEqual(['POL_NO', 'DOB']);
    expect(set.columns[0]!.vector.length).toBe(32);
    expect(set.columns[1]!.vector).toEqual(Array.from(columnVector({ name: 'DOB' }, ['1970-01-01'], 32)));
  });

  it('computes bit-identical vectors in two other processes and in this one', async () => {
    const [a, b] = await Promise.all([runWorker(), runWorker()]);
    const here = await embeddingBytes();
    expect(a.length).toBe(here.length);
    expect(a.length).toBeGreaterThan(40);
    expect(a).toEqual(b);
    expect(a).toEqual(here);
    expect(new Set(here).size).toBeGreaterThan(40);
  }, 60_000);
});
