/**
 * `/v1/files`: streamed uploads within the tenant's contract, the file's record, its bytes,
 * deletion, tenancy, and the refusals (over the contract's maxBytes by header or by stream,
 * a form body, no covering contract) that keep nothing.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { httpHarness, KEY_A, KEY_B, problem, type HttpHarness } from './helpers.js';

const CSV = 'POL_NO,EMAIL_ADDR\nLP001,a@b.com\nLP002,c@d.com\n';

describe('/v1/files', () => {
  let hh: HttpHarness;
  beforeEach(async () => {
    hh = await httpHarness();
  });
  afterEach(async () => {
    await hh.cleanup();
  });

  const upload = (body: string | Buffer, init: { key?: string; query?: string; headers?: Record<string, string> } = {}) =>
    Promise.resolve(
      hh.app.request(`/v1/files${init.query ?? '?name=policies.csv'}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${init.key ?? KEY_A}`, 'content-type': 'text/csv', ...(init.headers ?? {}) },
        body,
      }),
    );

  /** Files the embedded blob store holds for a tenant (finished or partial). */
  function blobFiles(tenantId: string): string[] {
    const dir = join(hh.h.dir, 'blobs', tenantId);
    return existsSync(dir) ? readdirSync(dir) : [];
  }

  it('stores the body as it streams: name, bytes, sha256, sniffed media type, expiry from the contract', async () => {
    const res = await upload(CSV);
    expect(res.status).toBe(201);
    const file = (await res.json()) as { id: string; name: string; bytes: number; sha256: string; mediaType: string; expiresAt: string; contractId: string };
    expect(file).toMatchObject({ name: 'policies.csv', bytes: Buffer.byteLength(CSV), mediaType: 'text/csv' });
    expect(file.sha256).toBe(createHash('sha256').update(CSV).digest('hex'));
    expect(res.headers.get('location')).toBe(`/v1/files/${file.id}`);
    // The permissive MVP contract keeps uploads 90 days.
    const days = (Date.parse(file.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(89.9);
    expect(days).toBeLessThan(90.1);

    const info = await hh.app.request(`/v1/files/${file.id}`, { headers: { authorization: `Bearer ${KEY_A}` } });
    expect(await info.json()).toMatchObject({ id: file.id, bytes: file.bytes, sha256: file.sha256 });
    const content = await hh.app.request(`/v1/files/${file.id}/content`, { headers: { authorization: `Bearer ${KEY_A}` } });
    expect(content.headers.get('content-type')).toBe('text/csv');
    expect(await content.text()).toBe(CSV);
  });

  it('takes the name from Content-Disposition and strips any path', async () => {
    const res = await upload(CSV, { query: '', headers: { 'content-disposition': 'attachment; filename="../../etc/policies 2024.csv"' } });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { name: string }).name).toBe('policies 2024.csv');
  });

  it("another tenant's file answers 404 on every route, the same as an unknown id", async () => {
    const { id } = (await (await upload(CSV)).json()) as { id: string };
    for (const [method, path] of [
      ['GET', `/v1/files/${id}`],
      ['GET', `/v1/files/${id}/content`],
      ['DELETE', `/v1/files/${id}`],
    ] as const) {
      const theirs = await hh.app.request(path, { method, headers: { authorization: `Bearer ${KEY_B}` } });
      expect(theirs.status, `${method} ${path}`).toBe(404);
      const unknown = await hh.app.request(path.replace(id, 'fil_00000000000000000000000000'), { method, headers: { authorization: `Bearer ${KEY_B}` } });
      expect((await problem(theirs)).code).toBe((await problem(unknown)).code);
    }
    // Still there for its owner.
    const mine = await hh.app.request(`/v1/files/${id}/content`, { headers: { authorization: `Bearer ${KEY_A}` } });
    expect(await mine.text()).toBe(CSV);
    const del = await hh.app.request(`/v1/files/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${KEY_A}` } });
    expect(del.status).toBe(204);
    expect((await hh.app.request(`/v1/files/${id}`, { headers: { authorization: `Bearer ${KEY_A}` } })).status).toBe(404);
  });

  it('refuses a body over the contract maxBytes, by Content-Length up front and by stream, keeping nothing', async () => {
    await hh.h.runtime.contracts.create('alpha', {
      scope: { realms: ['content'], intents: ['*'] },
      dataPolicy: { materialization: 'full', sampleRows: 10, retentionDays: 1, piiHandling: 'allow', maxBytes: 1000 },
      expiresAt: null,
    });
    const big = Buffer.alloc(5000, 'a');
    const declared = await upload(big, { headers: { 'content-length': String(big.byteLength) } });
    expect(declared.status).toBe(413);
    expect((await problem(declared)).code).toBe('file-too-large');

    // A chunked body (no Content-Length) through a real server: refused once it passes the bound.
    let server: ServerType | null = null;
    try {
      const url = await new Promise<string>((resolve) => {
        server = serve({ fetch: hh.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(`http://127.0.0.1:${info.port}`));
      });
      const chunks = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(600).fill(98));
          c.close();
        },
      });
      const res = await fetch(`${url}/v1/files?name=big.csv`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'text/csv' },
        body: chunks,
        duplex: 'half',
      } as RequestInit);
      expect(res.status).toBe(413);
      expect((await problem(res)).code).toBe('file-too-large');
    } finally {
      await new Promise<void>((resolve) => (server ? (server as ServerType).close(() => resolve()) : resolve()));
    }
    expect(blobFiles('alpha')).toEqual([]);
    const ok = await upload(CSV);
    expect(ok.status).toBe(201);
    const days = (Date.parse(((await ok.json()) as { expiresAt: string }).expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(0.99);
    expect(days).toBeLessThan(1.01);
    expect(blobFiles('alpha')).toHaveLength(1);
  });

  it('refuses a form body (415) and an upload no contract covers (403), storing nothing', async () => {
    const form = await upload('a=b', { headers: { 'content-type': 'multipart/form-data; boundary=x' } });
    expect(form.status).toBe(415);
    expect((await problem(form)).code).toBe('unsupported-media-type');
    await hh.h.runtime.contracts.create('bravo', {
      scope: { realms: ['journey'], intents: ['*'] },
      dataPolicy: { materialization: 'full', sampleRows: 10, retentionDays: 1, piiHandling: 'allow', maxBytes: 1000 },
      expiresAt: null,
    });
    const denied = await upload(CSV, { key: KEY_B });
    expect(denied.status).toBe(403);
    expect((await problem(denied)).code).toBe('contract-denied');
    expect(blobFiles('alpha')).toEqual([]);
    expect(blobFiles('bravo')).toEqual([]);
  });

  it('an uploaded file parses through the intent route', async () => {
    const { id } = (await (await upload(CSV)).json()) as { id: string };
    const res = await hh.app.request('/v1/intents/parse_content?waitFor=done&timeoutMs=20000', {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' },
      body: JSON.stringify({ fileId: id }),
    });
    expect(res.status).toBe(200);
    const view = (await res.json()) as { status: string; output: { artifacts: { id: string; kind: string }[] } };
    expect(view.status).toBe('done');
    const ds = view.output.artifacts.find((a) => a.kind === 'dataset')!;
    const rows = await hh.app.request(`/v1/datasets/${ds.id}/rows?offset=0&limit=10`, { headers: { authorization: `Bearer ${KEY_A}` } });
    expect(rows.status).toBe(200);
    expect(JSON.stringify(await rows.json())).toContain('LP002');
  });
});
