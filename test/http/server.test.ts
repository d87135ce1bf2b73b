/**
 * Refusals over a real socket (the server as `serve` starts it): an oversize body is
 * answered 413 whether announced or chunked (not a reset connection), and the connection's
 * server keeps serving; 405 carries `Allow`; every answer carries `X-Request-Id`.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { startServer, type Server } from '../../src/main.js';
import { tempDir } from '../actors/helpers.js';
import { problem } from './helpers.js';

let server: Server;
let dir: string;
beforeAll(async () => {
  dir = tempDir();
  server = await startServer(loadConfig({ PORT: '0', SYMPHAINY_DATA_DIR: dir, LOG_LEVEL: 'silent', SYMPHAINY_MAX_BODY_BYTES: '1024' }), silentLogger());
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const big = JSON.stringify({ text: 'x'.repeat(200_000) });

describe('over a real socket', () => {
  it('answers 413 to an oversize body, announced or chunked, and keeps serving', async () => {
    const sized = await fetch(`${server.url}/v1/intents/profile_text`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expect(sized.status).toBe(413);
    expect((await problem(sized)).code).toBe('payload-too-large');
    const chunks = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < big.length; i += 10_000) c.enqueue(new TextEncoder().encode(big.slice(i, i + 10_000)));
        c.close();
      },
    });
    const chunked = await fetch(`${server.url}/v1/intents/profile_text`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chunks, duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(413);
    expect((await problem(chunked)).code).toBe('payload-too-large');
    expect((await server.runtime.list({ tenantId: 'local', limit: 10 })).items).toEqual([]);
    expect((await fetch(`${server.url}/v1/actors`)).status).toBe(200);
  });

  it('answers 405 with Allow, 404 for unknown routes, each with a request id', async () => {
    const wrong = await fetch(`${server.url}/v1/intents/profile_text`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect(wrong.headers.get('x-request-id')).toBeTruthy();
    expect((await problem(wrong)).code).toBe('method-not-allowed');
    const unknown = await fetch(`${server.url}/nowhere`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect((await problem(unknown)).code).toBe('not-found');
  });
});

describe('rate limit over a real socket', () => {
  it('answers 429 with Retry-After once the budget is spent', async () => {
    const limitedDir = tempDir();
    const limited = await startServer(loadConfig({ PORT: '0', SYMPHAINY_DATA_DIR: limitedDir, LOG_LEVEL: 'silent', SYMPHAINY_RATE_LIMIT: '0.1:2' }), silentLogger());
    try {
      expect((await fetch(`${limited.url}/v1/actors`)).status).toBe(200);
      expect((await fetch(`${limited.url}/v1/machines`)).status).toBe(200);
      const refused = await fetch(`${limited.url}/v1/actors`);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(9);
      expect((await problem(refused)).code).toBe('rate-limited');
      expect((await fetch(`${limited.url}/healthz`)).status).toBe(200);
    } finally {
      await limited.close();
      rmSync(limitedDir, { recursive: true, force: true });
    }
  });
});
