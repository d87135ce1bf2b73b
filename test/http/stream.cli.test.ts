/**
 * `symphainy stream` (cli/stream.ts) against a real server on an ephemeral port: the
 * `bin/symphainy.js` process prints every snapshot version once, resumes with
 * `Last-Event-ID` after the server drops its connection, and exits 0 at the final state.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/actors/index.js';
import { auth, type AuthVariables } from '../../src/http/auth.js';
import { problemResponse } from '../../src/http/problem.js';
import { registerStreamRoutes } from '../../src/http/stream.js';
import { streamActor } from '../../src/cli/stream.js';
import { silentLogger } from '../../src/logger.js';
import { createSqliteStores } from '../../src/persistence/sqlite/index.js';
import type { Stores } from '../../src/persistence/ports.js';
import { counterCatalog } from '../cluster/fixtures/counter.js';

const KEY = 'key-alpha-0001';
const TENANT = 'alpha';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function server(): Promise<{ url: string; runtime: Runtime; stores: Stores; server: ServerType }> {
  const dir = mkdtempSync(join(tmpdir(), 'symphainy-stream-cli-'));
  const stores = createSqliteStores(dir);
  const runtime = createRuntime({ stores, catalog: counterCatalog(), logger: silentLogger(), pollMs: 20 });
  await runtime.start();
  const logger = silentLogger();
  const app = new Hono<{ Variables: AuthVariables }>();
  app.onError((err, c) => problemResponse(c, err, logger));
  app.use('/v1/*', auth({ keys: [{ key: KEY, tenantId: TENANT }], localTenant: 'local' }));
  registerStreamRoutes(app, { runtime, stores, logger, heartbeatMs: 200 });
  const s = await new Promise<ServerType>((resolve) => {
    const x = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(x));
  });
  cleanup.push(async () => {
    (s as unknown as { closeAllConnections(): void }).closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
    await runtime.close();
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, runtime, stores, server: s };
}

async function counter(runtime: Runtime): Promise<string> {
  const { id } = await runtime.spawn('agentSession', {}, { tenantId: TENANT });
  await runtime.waitFor(id, { tenantId: TENANT, until: { tag: 'waiting' }, timeoutMs: 5000 });
  return id;
}

const add = (runtime: Runtime, id: string, p: string) => runtime.send(id, { type: 'ADD', p }, { tenantId: TENANT, waitFor: 'applied', timeoutMs: 5000 });

/** Resolves once `lines` has `n` entries (at most 10 s). */
async function lineCount(lines: string[], n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (lines.length < n) {
    if (Date.now() > deadline) throw new Error(`only ${lines.length} of ${n} lines: ${lines.join(' | ')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('symphainy stream', () => {
  it('prints each version once as JSON lines across a dropped connection and exits 0 at the final state', async () => {
    const s = await server();
    const id = await counter(s.runtime);
    const child = spawn(process.execPath, ['bin/symphainy.js', 'stream', id, '--url', s.url, '--key', KEY, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanup.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const lines: string[] = [];
    let stderr = '';
    let partial = '';
    child.stdout.on('data', (d: Buffer) => {
      partial += d.toString();
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts.filter(Boolean));
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    await lineCount(lines, 1);
    await add(s.runtime, id, 'one');
    await lineCount(lines, 2);
    // The server drops every connection; versions committed meanwhile come back on resume.
    (s.server as unknown as { closeAllConnections(): void }).closeAllConnections();
    await add(s.runtime, id, 'two');
    await add(s.runtime, id, 'three');
    await s.runtime.send(id, { type: 'FINISH' }, { tenantId: TENANT });
    expect(await exited).toBe(0);

    const events = lines.map((l) => JSON.parse(l) as { event: string; version: number; view: { status: string; id: string } });
    const final = await s.runtime.inspect(id, { tenantId: TENANT });
    const first = events[0]!.version;
    expect(events.map((e) => e.version)).toEqual(Array.from({ length: final.version - first + 1 }, (_, i) => first + i));
    expect(events.every((e) => e.event === 'snapshot' && e.view.id === id)).toBe(true);
    expect(events[events.length - 1]?.view.status).toBe('done');
    expect(stderr).toMatch(/resuming after v\d+/);
  }, 30_000);

  it('prints human-readable lines, and fails with the problem for an unknown actor', async () => {
    const s = await server();
    const id = await counter(s.runtime);
    await add(s.runtime, id, 'one');
    const lines: string[] = [];
    const done = streamActor({ url: s.url, key: KEY }, id, { write: (l) => lines.push(l), notice: () => undefined });
    await lineCount(lines, 1);
    await s.runtime.send(id, { type: 'FINISH' }, { tenantId: TENANT });
    await done;
    const final = await s.runtime.inspect(id, { tenantId: TENANT });
    expect(lines).toEqual([`v${final.version - 1} waiting ready.idle [data, waiting]`, `v${final.version} done done [final]`]);
    await expect(streamActor({ url: s.url, key: KEY }, 'age_00000000000000000000', { write: () => undefined })).rejects.toMatchObject({
      message: expect.stringMatching(/^404 not-found:/),
      exitCode: 3,
    });
  });
});
