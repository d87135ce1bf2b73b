/**
 * MongoDB only (issue 4, acceptance): a 200 MB blob streams into GridFS and back out with
 * bounded memory. A child process (`fixtures/blob-stream.ts`) generates the bytes on the fly,
 * writes them through the blob store, reads them back hashing as it goes, and reports its
 * peak RSS; a process that buffered the blob whole (once, on either side) would pass 300 MB.
 * The measured durations are printed.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { afterEach, expect, it } from 'vitest';
import { describeWithService } from '../services/env.js';
import type { BlobStreamReport } from './fixtures/blob-stream.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/blob-stream.ts', import.meta.url));
const BLOB_BYTES = 200_000_000;
/** The child's baseline (Node, tsx, the driver) is about 95 MB; measured peaks are 130-150 MB. */
const MAX_RSS_BYTES = 200_000_000;
const TIMEOUT_MS = 180_000;

function runFixture(url: string, dbName: string): Promise<BlobStreamReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, url, dbName, String(BLOB_BYTES)], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`blob-stream exited with ${code}: ${stderr}`));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as BlobStreamReport);
      } catch (e) {
        reject(new Error(`blob-stream printed no report: ${stdout} ${stderr}`, { cause: e }));
      }
    });
  });
}

describeWithService('MONGO_URL', 'GridFS blob streaming on mongo', (url) => {
  let dbName = '';

  afterEach(async () => {
    const admin = new MongoClient(url);
    try {
      await admin.db(dbName).dropDatabase();
    } finally {
      await admin.close();
    }
  });

  it(
    'streams a 200 MB blob in and out with bounded memory and the same sha256',
    async () => {
      dbName = `symphainy_blob_${randomBytes(6).toString('hex')}`;
      const report = await runFixture(url, dbName);
      console.log(
        `200 MB blob on ${url}: write ${(report.writeMs / 1000).toFixed(1)} s, read ${(report.readMs / 1000).toFixed(1)} s, ` +
          `peak RSS ${Math.round(report.maxRssBytes / 1e6)} MB`,
      );
      expect(report.storedBytes).toBe(BLOB_BYTES);
      expect(report.readBytes).toBe(BLOB_BYTES);
      expect(report.storedSha256).toBe(report.sourceSha256);
      expect(report.readSha256).toBe(report.sourceSha256);
      expect(report.maxRssBytes).toBeLessThan(MAX_RSS_BYTES);
    },
    TIMEOUT_MS,
  );
});
