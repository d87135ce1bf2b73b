/**
 * Shared fixtures for HTTP tests: the real app over a fresh embedded store per test, two
 * tenants with keys, a request helper and a problem+json checker. Artifacts, blobs and rows
 * are seeded through the real store ports.
 */
import { Readable } from 'node:stream';
import { expect } from 'vitest';
import { createApp, type AppOptions, type HttpApp } from '../../src/http/app.js';
import { newId } from '../../src/ids.js';
import { silentLogger } from '../../src/logger.js';
import type { RuntimeOptions } from '../../src/actors/index.js';
import type { Artifact, RecordRow } from '../../src/persistence/ports.js';
import { harness, type Harness } from '../actors/helpers.js';

export const KEY_A = 'key-alpha-0001';
export const KEY_B = 'key-bravo-0002';

export interface HttpHarness {
  h: Harness;
  app: HttpApp;
  req(path: string, init?: RequestInit2): Promise<Response>;
  cleanup(): Promise<void>;
}

export interface RequestInit2 {
  method?: string;
  body?: string;
  /** `null`: no Authorization header. @defaultValue KEY_A */
  key?: string | null;
  headers?: Record<string, string>;
}

export async function httpHarness(options: Partial<AppOptions> = {}, runtimeOptions: Partial<RuntimeOptions> = {}): Promise<HttpHarness> {
  const h = await harness(runtimeOptions);
  const app = createApp({
    runtime: h.runtime,
    stores: h.stores,
    logger: silentLogger(),
    apiKeys: [
      { key: KEY_A, tenantId: 'alpha' },
      { key: KEY_B, tenantId: 'bravo' },
    ],
    localTenant: 'local',
    maxBodyBytes: 64 * 1024,
    rateLimit: null,
    ...options,
  });
  return {
    h,
    app,
    req: (path, init = {}) => {
      const headers: Record<string, string> = { ...(init.headers ?? {}) };
      if (init.key !== null) headers.authorization = `Bearer ${init.key ?? KEY_A}`;
      if (init.body !== undefined && !('content-type' in headers)) headers['content-type'] = 'application/json';
      return Promise.resolve(app.request(path, { method: init.method ?? 'GET', headers, body: init.body ?? null }));
    },
    cleanup: () => h.cleanup(),
  };
}

export interface ProblemBody {
  type: string;
  code: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  errors?: { path: string; message: string }[];
}

/** Asserts `res` is a well-formed problem+json without a stack trace, and returns its body. */
export async function problem(res: Response): Promise<ProblemBody> {
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const text = await res.text();
  expect(text).not.toMatch(/\bat .*\.[jt]s:\d+/);
  expect(text).not.toMatch(/node_modules|\/src\//);
  const body = JSON.parse(text) as ProblemBody;
  expect(body.type).toBe(`urn:symphainy:problem:${body.code}`);
  expect(body.status).toBe(res.status);
  expect(typeof body.detail).toBe('string');
  return body;
}

/** What a tenant has stored: actors, mailbox entries, snapshot versions, artifacts, contracts. */
export async function storeState(h: Harness, tenantId: string) {
  const actors = await h.stores.actors.list({ tenantId, limit: 1000 });
  const mailbox = await Promise.all(actors.items.map((a) => h.stores.actors.pending(tenantId, a.id, 0)));
  const artifacts = await h.stores.artifacts.list({ tenantId, limit: 1000 });
  const contracts = await h.stores.contracts.list(tenantId);
  return {
    actors: actors.items.length,
    events: mailbox.reduce((n, m) => n + m.length, 0),
    versions: actors.items.map((a) => `${a.id}@${a.version}`).join(','),
    artifacts: artifacts.items.length,
    contracts: contracts.map((c) => `${c.id}:${c.expiresAt}:${c.revokedAt}`).join(','),
  };
}

function artifact(tenantId: string, kind: string, body: unknown, contractId: string): Artifact {
  return {
    id: newId('art'),
    tenantId,
    solutionId: 'default',
    kind,
    createdAt: new Date().toISOString(),
    body,
    lineage: { actorId: newId('exe'), actorKind: 'execution', intent: 'parse_content', inputs: [], fileIds: [], contractId, decisionIds: [] },
  };
}

/** Stores a blob and an artifact whose body names it under `field` (`xmlBlobId` or `blobId`). */
export async function seedBlobArtifact(h: Harness, tenantId: string, options: { field: 'xmlBlobId' | 'blobId'; text: string; mediaType: string; name: string }) {
  const blob = await h.stores.blobs.write(
    tenantId,
    { id: newId('fil'), name: options.name, mediaType: options.mediaType, maxBytes: 1024 * 1024 },
    Readable.from([Buffer.from(options.text, 'utf8')]),
  );
  const a = artifact(tenantId, options.field === 'xmlBlobId' ? 'workflow' : 'exportDocument', { [options.field]: blob.id, lint: [] }, `ctr_mvp_${tenantId}`);
  await h.stores.artifacts.put(a);
  return { artifact: a, blob };
}

/** Stores a dataset artifact and `storedRows` of its rows (chunks of 100). */
export async function seedDataset(h: Harness, tenantId: string, options: { rowCount: number; storedRows: number; contractId?: string }) {
  const a = artifact(
    tenantId,
    'dataset',
    {
      fileId: newId('fil'),
      format: 'csv',
      encoding: 'utf-8',
      header: true,
      rowCount: options.rowCount,
      columns: [
        { name: 'policy_no', sourceName: 'POL_NO' },
        { name: 'premium', sourceName: 'PREM' },
      ],
      storedRows: options.storedRows,
      maskedColumns: [],
      chunks: [],
      badRows: 0,
      issues: [],
    },
    options.contractId ?? `ctr_mvp_${tenantId}`,
  );
  await h.stores.artifacts.put(a);
  for (let chunkNo = 0; chunkNo * 100 < options.storedRows; chunkNo++) {
    const rows: RecordRow[] = [];
    for (let r = chunkNo * 100 + 1; r <= Math.min(options.storedRows, (chunkNo + 1) * 100); r++) rows.push({ row: r, line: r + 1, values: [`P${r}`, r * 10] });
    await h.stores.records.putChunk(tenantId, a.id, chunkNo, rows);
  }
  return a;
}
