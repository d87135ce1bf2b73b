/**
 * @module persistence/sqlite/stores
 * `ArtifactStore`, `RecordStore`, `BlobStore` (files on disk, metadata in SQLite) and
 * `ContractStore` on the embedded database.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../../errors.js';
import type { BoundaryContract } from '../../machines/contract.js';
import type { Artifact, ArtifactStore, BlobInfo, BlobStore, ContractStore, Fence, Page, RecordRow, RecordStore } from '../ports.js';
import { immediate, type Db } from './db.js';
import type { Statement } from 'better-sqlite3';

/**
 * Checks a fence inside the caller's transaction: the actor's lease must still be held by the
 * fence's owner at its epoch.
 */
type FenceStatement = Statement<[string], { owner_id: string | null; epoch: number }>;
// One prepared statement per connection: fenced writes are on every artifact's hot path.
const fenceStatements = new WeakMap<Db, FenceStatement>();

export function checkFence(db: Db, fence: Fence): void {
  let stmt = fenceStatements.get(db);
  if (!stmt) {
    stmt = db.prepare<[string], { owner_id: string | null; epoch: number }>('SELECT owner_id, epoch FROM actors WHERE id = ?');
    fenceStatements.set(db, stmt);
  }
  const row = stmt.get(fence.actorId);
  if (!row || row.owner_id !== fence.ownerId || row.epoch !== fence.epoch) {
    throw new AppError('lease-lost', `Actor ${fence.actorId} is no longer held by ${fence.ownerId} at epoch ${fence.epoch}`);
  }
}

function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(`${createdAt}|${id}`).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  const [createdAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!createdAt || !id) throw new AppError('params-invalid', 'Invalid cursor', { extras: { errors: [{ path: 'cursor', message: 'invalid' }] } });
  return [createdAt, id];
}

export function createSqliteArtifactStore(db: Db): ArtifactStore {
  const put = db.prepare(`INSERT OR IGNORE INTO artifacts (id, tenant_id, solution_id, kind, actor_id, created_at, doc)
    VALUES (?, ?, ?, ?, ?, ?, ?)`);
  const get = db.prepare<[string, string], { doc: string }>(`SELECT doc FROM artifacts WHERE id = ? AND tenant_id = ?`);
  const count = db.prepare<[string, string], { n: number }>(
    `SELECT COUNT(*) AS n FROM artifacts WHERE tenant_id = ? AND actor_id = ?`,
  );
  return {
    async put(a, fence) {
      const write = () => put.run(a.id, a.tenantId, a.solutionId, a.kind, a.lineage.actorId, a.createdAt, JSON.stringify(a)).changes === 1;
      if (!fence) return write();
      return immediate(db, () => {
        checkFence(db, fence);
        return write();
      });
    },
    async get(tenantId, id) {
      const row = get.get(id, tenantId);
      return row ? (JSON.parse(row.doc) as Artifact) : null;
    },
    async list(filter): Promise<Page<Artifact>> {
      const where = ['tenant_id = @tenant'];
      const params: Record<string, unknown> = { tenant: filter.tenantId, limit: filter.limit + 1 };
      if (filter.solutionId) (where.push('solution_id = @solution'), (params.solution = filter.solutionId));
      if (filter.executionId) (where.push('actor_id = @actor'), (params.actor = filter.executionId));
      if (filter.kind) (where.push('kind = @kind'), (params.kind = filter.kind));
      if (filter.cursor) {
        const [createdAt, id] = decodeCursor(filter.cursor);
        where.push('(created_at < @cAt OR (created_at = @cAt AND id < @cId))');
        params.cAt = createdAt;
        params.cId = id;
      }
      const rows = db
        .prepare<Record<string, unknown>, { doc: string }>(
          `SELECT doc FROM artifacts WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT @limit`,
        )
        .all(params);
      const items = rows.slice(0, filter.limit).map((r) => JSON.parse(r.doc) as Artifact);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > filter.limit && last ? encodeCursor(last.createdAt, last.id) : null };
    },
    async countByActor(tenantId, actorId) {
      return count.get(tenantId, actorId)?.n ?? 0;
    },
  };
}

export function createSqliteRecordStore(db: Db): RecordStore {
  const put = db.prepare(`INSERT OR REPLACE INTO record_chunks (tenant_id, dataset_id, chunk_no, first_row, last_row, records)
    VALUES (?, ?, ?, ?, ?, ?)`);
  const get = db.prepare<[string, string, number], { records: string }>(
    `SELECT records FROM record_chunks WHERE tenant_id = ? AND dataset_id = ? AND chunk_no = ?`,
  );
  const range = db.prepare<[string, string, number, number], { records: string }>(
    `SELECT records FROM record_chunks WHERE tenant_id = ? AND dataset_id = ? AND last_row >= ? AND first_row <= ?
     ORDER BY first_row`,
  );
  const del = db.prepare(`DELETE FROM record_chunks WHERE tenant_id = ? AND dataset_id = ?`);
  return {
    async putChunk(tenantId, datasetId, chunkNo, records, fence) {
      const first = records[0]?.row ?? 0;
      const last = records[records.length - 1]?.row ?? -1;
      const write = () => put.run(tenantId, datasetId, chunkNo, first, last, JSON.stringify(records));
      if (!fence) {
        write();
        return;
      }
      immediate(db, () => {
        checkFence(db, fence);
        write();
      });
    },
    async getChunk(tenantId, datasetId, chunkNo) {
      const row = get.get(tenantId, datasetId, chunkNo);
      return row ? (JSON.parse(row.records) as RecordRow[]) : null;
    },
    async rows(tenantId, datasetId, offset, limit) {
      const firstRow = offset + 1;
      const lastRow = offset + limit;
      const out: RecordRow[] = [];
      for (const chunk of range.all(tenantId, datasetId, firstRow, lastRow)) {
        for (const r of JSON.parse(chunk.records) as RecordRow[]) if (r.row >= firstRow && r.row <= lastRow) out.push(r);
      }
      return out;
    },
    async deleteDataset(tenantId, datasetId) {
      return del.run(tenantId, datasetId).changes;
    },
  };
}

interface BlobRow {
  id: string;
  tenant_id: string;
  name: string;
  media_type: string;
  bytes: number;
  sha256: string;
  path: string;
  created_at: string;
  expires_at: string | null;
}

const toBlobInfo = (r: BlobRow): BlobInfo => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  mediaType: r.media_type,
  bytes: r.bytes,
  sha256: r.sha256,
  createdAt: r.created_at,
  expiresAt: r.expires_at ?? null,
});

export function createFileBlobStore(db: Db, dir: string): BlobStore {
  const insert = db.prepare(`INSERT INTO blobs (id, tenant_id, name, media_type, bytes, sha256, path, created_at, expires_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const expired = db.prepare<[string, number], BlobRow>(
    `SELECT * FROM blobs WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?`,
  );
  const get = db.prepare<[string, string], BlobRow>(`SELECT * FROM blobs WHERE id = ? AND tenant_id = ?`);
  const del = db.prepare(`DELETE FROM blobs WHERE id = ? AND tenant_id = ?`);
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');

  return {
    async write(tenantId, meta, source, fence) {
      const folder = join(dir, safe(tenantId));
      await mkdir(folder, { recursive: true });
      const path = join(folder, safe(meta.id));
      const tmp = `${path}.part`;
      const hash = createHash('sha256');
      let bytes = 0;
      async function* counted() {
        for await (const chunk of source) {
          bytes += chunk.byteLength;
          if (bytes > meta.maxBytes) throw new AppError('file-too-large', `Upload is larger than ${meta.maxBytes} bytes`);
          hash.update(chunk);
          yield chunk;
        }
      }
      const out = createWriteStream(tmp);
      try {
        await pipeline(counted, out);
        await rename(tmp, path);
      } catch (e) {
        // A source that fails at once can beat the file's opening: the pipeline has settled
        // but the file appears when it opens. Remove it once it is closed.
        if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
        await rm(tmp, { force: true });
        throw e;
      }
      const info: BlobInfo = {
        id: meta.id,
        tenantId,
        name: meta.name,
        mediaType: meta.mediaType,
        bytes,
        sha256: hash.digest('hex'),
        createdAt: new Date().toISOString(),
        expiresAt: meta.expiresAt ?? null,
      };
      try {
        immediate(db, () => {
          if (fence) checkFence(db, fence);
          insert.run(info.id, tenantId, info.name, info.mediaType, info.bytes, info.sha256, path, info.createdAt, info.expiresAt);
        });
      } catch (e) {
        await rm(path, { force: true });
        throw e;
      }
      return info;
    },
    async info(tenantId, id) {
      const row = get.get(id, tenantId);
      return row ? toBlobInfo(row) : null;
    },
    async read(tenantId, id): Promise<Readable> {
      const row = get.get(id, tenantId);
      if (!row) throw new AppError('not-found', `No file ${id}`);
      return createReadStream(row.path);
    },
    async delete(tenantId, id) {
      const row = get.get(id, tenantId);
      if (!row) return false;
      del.run(id, tenantId);
      await rm(row.path, { force: true });
      return true;
    },
    async sweepExpired(nowIso, limit = 1000) {
      let n = 0;
      for (const row of expired.all(nowIso, limit)) {
        // The row goes first: a reader then finds no blob rather than a missing file.
        if (del.run(row.id, row.tenant_id).changes > 0) n++;
        await rm(row.path, { force: true });
      }
      return n;
    },
  };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export function createSqliteContractStore(db: Db): ContractStore {
  const list = db.prepare<[string], { doc: string }>(`SELECT doc FROM contracts WHERE tenant_id = ? ORDER BY created_at, id`);
  const get = db.prepare<[string, string], { doc: string }>(`SELECT doc FROM contracts WHERE id = ? AND tenant_id = ?`);
  const any = db.prepare<[string], { n: number }>(`SELECT COUNT(*) AS n FROM contracts WHERE tenant_id = ?`);
  const insert = db.prepare(`INSERT INTO contracts (id, tenant_id, issued_by, created_at, doc) VALUES (?, ?, ?, ?, ?)`);
  const update = db.prepare(`UPDATE contracts SET doc = ? WHERE id = ? AND tenant_id = ?`);
  const insertSecret = db.prepare(`INSERT OR IGNORE INTO tenant_secrets (tenant_id, secret) VALUES (?, ?)`);
  const getSecret = db.prepare<[string], { secret: Buffer }>(`SELECT secret FROM tenant_secrets WHERE tenant_id = ?`);
  // Every contract decision reads the tenant's contracts: parsed documents are kept (frozen,
  // keyed by their exact text, so a changed contract is parsed afresh).
  const parsed = new Map<string, BoundaryContract>();
  const parse = (r: { doc: string }): BoundaryContract => {
    let c = parsed.get(r.doc);
    if (!c) {
      if (parsed.size >= 1024) parsed.clear();
      c = deepFreeze(JSON.parse(r.doc) as BoundaryContract);
      parsed.set(r.doc, c);
    }
    return c;
  };
  const write = (c: BoundaryContract) => insert.run(c.id, c.tenantId, c.issuedBy, c.createdAt, JSON.stringify(c));
  function patch(tenantId: string, id: string, change: (c: BoundaryContract) => BoundaryContract): boolean {
    return immediate(db, () => {
      const row = get.get(id, tenantId);
      if (!row) return false;
      update.run(JSON.stringify(change(parse(row))), id, tenantId);
      return true;
    });
  }
  return {
    async list(tenantId) {
      return list.all(tenantId).map(parse);
    },
    async get(tenantId, id) {
      const row = get.get(id, tenantId);
      return row ? parse(row) : null;
    },
    async insertIfNone(contract) {
      return immediate(db, () => {
        if ((any.get(contract.tenantId)?.n ?? 0) > 0) return false;
        write(contract);
        return true;
      });
    },
    async insertSuperseding(contract, nowIso) {
      immediate(db, () => {
        for (const c of list.all(contract.tenantId).map(parse)) {
          if (c.issuedBy === 'permissive-mvp' && (c.expiresAt === null || c.expiresAt > nowIso)) {
            update.run(JSON.stringify({ ...c, expiresAt: nowIso }), c.id, c.tenantId);
          }
        }
        write(contract);
      });
    },
    async revoke(tenantId, id, nowIso) {
      return patch(tenantId, id, (c) => ({ ...c, revokedAt: c.revokedAt ?? nowIso }));
    },
    async setExpiry(tenantId, id, expiresAt) {
      return patch(tenantId, id, (c) => ({ ...c, expiresAt }));
    },
    async tenantSecret(tenantId) {
      const held = getSecret.get(tenantId);
      if (held) return Buffer.from(held.secret);
      // The first writer wins; every caller then reads the same secret.
      insertSecret.run(tenantId, randomBytes(32));
      const row = getSecret.get(tenantId);
      if (!row) throw new AppError('store-unavailable', `The secret of tenant ${tenantId} could not be stored`);
      return Buffer.from(row.secret);
    },
  };
}
