/**
 * @module persistence/sqlite/actorStore
 * `ActorStore` on SQLite. Every write runs in `BEGIN IMMEDIATE`, so the compare-and-set is
 * safe across processes sharing the file.
 *
 * Snapshot history is written by two temporary triggers this store installs on its
 * connection: one after an actor's insert, one after every update that moves its version.
 * A trigger runs inside the statement that fired it, so the entry is atomic with the commit
 * and a single-statement commit stays a single statement; the update trigger also deletes
 * the entries beyond the newest `historyMax`.
 */
import { AppError, PROBLEM_TYPE_PREFIX, ProblemTitles, type Problem } from '../../errors.js';
import {
  DEFAULT_HISTORY_MAX,
  isFinalStatus,
  type ActorListFilter,
  type ActorRecord,
  type ActorStatus,
  type ActorStore,
  type CommitPatch,
  type HistoryEntry,
  type HistoryPage,
  type IdempotencyClaim,
  type IdempotentResult,
  type MailboxEntry,
  type Page,
  type SnapshotChange,
} from '../ports.js';
import { atomically, createWriteBatcher, immediate, type Db } from './db.js';

interface ActorRow {
  id: string;
  tenant_id: string;
  kind: string;
  status: string;
  final: number;
  value: string | null;
  tags: string;
  machine_id: string;
  machine_version: number;
  snapshot: string | null;
  input: string | null;
  contract_id: string | null;
  output: string | null;
  error: string | null;
  timers: string;
  version: number;
  applied_seq: number;
  last_seq: number;
  owner_id: string | null;
  lease_until: number;
  epoch: number;
  created_at: string;
  updated_at: string;
}

interface MailboxRow {
  actor_id: string;
  seq: number;
  tenant_id: string;
  event: string;
  accepted_at: string;
  outcome: string;
  error: string | null;
}

function parseJson<T>(text: string | null, fallback: T): T {
  return text === null ? fallback : (JSON.parse(text) as T);
}

function toRecord(r: ActorRow): ActorRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    kind: r.kind,
    status: r.status as ActorStatus,
    value: parseJson(r.value, null),
    tags: parseJson(r.tags, []),
    machineId: r.machine_id,
    machineVersion: r.machine_version,
    snapshot: parseJson(r.snapshot, null),
    input: parseJson(r.input, null),
    contractId: r.contract_id,
    output: parseJson(r.output, null),
    error: parseJson<Problem | null>(r.error, null),
    timers: parseJson(r.timers, []),
    version: r.version,
    appliedSeq: r.applied_seq,
    lastSeq: r.last_seq,
    ownerId: r.owner_id,
    leaseUntil: r.lease_until,
    epoch: r.epoch,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toEntry(r: MailboxRow): MailboxEntry {
  return {
    actorId: r.actor_id,
    tenantId: r.tenant_id,
    seq: r.seq,
    event: JSON.parse(r.event) as MailboxEntry['event'],
    acceptedAt: r.accepted_at,
    outcome: r.outcome as MailboxEntry['outcome'],
    error: parseJson<Problem | null>(r.error, null),
  };
}

/** The stored refusal of an event the actor ended before applying (no stack captured). */
function endedBeforeApplied(actorId: string): string {
  return JSON.stringify({
    type: PROBLEM_TYPE_PREFIX + 'actor-final',
    code: 'actor-final',
    title: ProblemTitles['actor-final'],
    detail: `Actor ${actorId} ended before this event was applied`,
  } satisfies Problem);
}

const json = (v: unknown): string | null => (v === undefined || v === null ? null : JSON.stringify(v));

export interface SqliteActorStoreOptions {
  /** Snapshot history entries kept per actor. @defaultValue {@link DEFAULT_HISTORY_MAX} */
  historyMax?: number;
}

/** The history row of the actor row `NEW` (SQL, inside a trigger). */
const HISTORY_ROW = `INSERT OR REPLACE INTO main.actor_history (actor_id, version, tenant_id, at, view)
  VALUES (NEW.id, NEW.version, NEW.tenant_id, NEW.updated_at, json_object(
    'status', NEW.status, 'value', json(NEW.value), 'tags', json(NEW.tags), 'contractId', NEW.contract_id,
    'machineVersion', NEW.machine_version, 'output', json(NEW.output), 'error', json(NEW.error), 'updatedAt', NEW.updated_at))`;

/**
 * Installs the history triggers on this connection (TEMP: they carry this store's bound, and
 * every process that opens the file installs its own).
 */
function installHistoryTriggers(db: Db, historyMax: number): void {
  if (!Number.isSafeInteger(historyMax) || historyMax < 1) throw new RangeError(`historyMax must be a positive integer, not ${historyMax}`);
  db.exec(`DROP TRIGGER IF EXISTS temp.actor_history_insert;
DROP TRIGGER IF EXISTS temp.actor_history_update;
CREATE TEMP TRIGGER actor_history_insert AFTER INSERT ON main.actors BEGIN ${HISTORY_ROW}; END;
CREATE TEMP TRIGGER actor_history_update AFTER UPDATE OF version ON main.actors WHEN NEW.version <> OLD.version BEGIN
  ${HISTORY_ROW};
  DELETE FROM main.actor_history WHERE actor_id = NEW.id AND version <= NEW.version - ${historyMax};
END;`);
}

export function createSqliteActorStore(db: Db, options: SqliteActorStoreOptions = {}): ActorStore {
  installHistoryTriggers(db, options.historyMax ?? DEFAULT_HISTORY_MAX);
  const batcher = createWriteBatcher(db);
  const s = {
    insert: db.prepare(`INSERT INTO actors (id, tenant_id, kind, status, final, value, tags, machine_id, machine_version,
      snapshot, input, contract_id, output, error, timers, version, applied_seq, last_seq, owner_id, lease_until, epoch,
      created_at, updated_at) VALUES (@id, @tenant_id, @kind, @status, @final, @value, @tags, @machine_id, @machine_version,
      @snapshot, @input, @contract_id, @output, @error, @timers, @version, @applied_seq, @last_seq, @owner_id, @lease_until,
      @epoch, @created_at, @updated_at)`),
    get: db.prepare<[string, string], ActorRow>(`SELECT * FROM actors WHERE id = ? AND tenant_id = ?`),
    head: db.prepare<[string], Pick<ActorRow, 'tenant_id' | 'final' | 'last_seq' | 'version' | 'owner_id' | 'epoch'>>(
      `SELECT tenant_id, final, last_seq, version, owner_id, epoch FROM actors WHERE id = ?`,
    ),
    idemGet: db.prepare<[string, string, string], { request_hash: string; result: string; expires_at: number }>(
      `SELECT request_hash, result, expires_at FROM idempotency WHERE tenant_id = ? AND scope = ? AND key = ?`,
    ),
    idemPut: db.prepare(`INSERT OR REPLACE INTO idempotency (tenant_id, scope, key, request_hash, result, expires_at)
      VALUES (?, ?, ?, ?, ?, ?)`),
    idemPurge: db.prepare(`DELETE FROM idempotency WHERE expires_at <= ?`),
    bumpSeq: db.prepare(`UPDATE actors SET last_seq = ? WHERE id = ?`),
    mailboxInsert: db.prepare(`INSERT INTO mailbox (actor_id, seq, tenant_id, event, accepted_at, outcome, error)
      VALUES (?, ?, ?, ?, ?, 'pending', NULL)`),
    pending: db.prepare<[string, string, number], MailboxRow>(
      `SELECT * FROM mailbox WHERE actor_id = ? AND tenant_id = ? AND seq > ? ORDER BY seq`,
    ),
    event: db.prepare<[string, string, number], MailboxRow>(
      `SELECT * FROM mailbox WHERE actor_id = ? AND tenant_id = ? AND seq = ?`,
    ),
    // Two statements, so that a commit that does not end the actor leaves the columns of the
    // claim and owner indexes alone (SQLite rewrites an index whose column is SET).
    commit: db.prepare(`UPDATE actors SET status = @status, value = @value, tags = @tags,
      snapshot = @snapshot, machine_version = @machine_version, contract_id = @contract_id, output = @output, error = @error,
      timers = @timers, applied_seq = @applied_seq, version = version + 1, updated_at = @updated_at
      WHERE id = @id AND version = @expected AND owner_id = @owner_id AND epoch = @epoch AND final = 0`),
    commitFinal: db.prepare(`UPDATE actors SET status = @status, final = 1, value = @value, tags = @tags,
      snapshot = @snapshot, machine_version = @machine_version, contract_id = @contract_id, output = @output, error = @error,
      timers = @timers, applied_seq = MAX(@applied_seq, last_seq), version = version + 1, updated_at = @updated_at, owner_id = NULL
      WHERE id = @id AND version = @expected AND owner_id = @owner_id AND epoch = @epoch AND final = 0`),
    // The common final commit: nothing left in the mailbox beyond the mark, one statement.
    commitFinalClean: db.prepare(`UPDATE actors SET status = @status, final = 1, value = @value, tags = @tags,
      snapshot = @snapshot, machine_version = @machine_version, contract_id = @contract_id, output = @output, error = @error,
      timers = @timers, applied_seq = @applied_seq, version = version + 1, updated_at = @updated_at, owner_id = NULL
      WHERE id = @id AND version = @expected AND owner_id = @owner_id AND epoch = @epoch AND final = 0
        AND last_seq <= @applied_seq`),
    outcome: db.prepare(`UPDATE mailbox SET outcome = ?, error = ? WHERE actor_id = ? AND seq = ?`),
    refuseRest: db.prepare(`UPDATE mailbox SET outcome = 'refused', error = ? WHERE actor_id = ? AND seq > ? AND outcome = 'pending'`),
    claimable: db.prepare<[number, number], { id: string }>(
      `SELECT id FROM actors WHERE final = 0 AND (owner_id IS NULL OR lease_until < ?) LIMIT ?`,
    ),
    take: db.prepare(`UPDATE actors SET owner_id = ?, lease_until = ?, epoch = epoch + 1
      WHERE id = ? AND final = 0 AND (owner_id IS NULL OR lease_until < ?)`),
    byId: db.prepare<[string], ActorRow>(`SELECT * FROM actors WHERE id = ?`),
    renew: db.prepare(`UPDATE actors SET lease_until = ? WHERE id = ? AND owner_id = ? AND epoch = ? AND final = 0`),
    release: db.prepare(`UPDATE actors SET owner_id = NULL, lease_until = 0 WHERE id = ? AND owner_id = ?`),
    withPending: db.prepare<[string], { id: string; tenant_id: string }>(
      `SELECT id, tenant_id FROM actors WHERE owner_id = ? AND final = 0 AND last_seq > applied_seq`,
    ),
    history: db.prepare<[string, string, number, number], { version: number; at: string; view: string }>(
      `SELECT version, at, view FROM actor_history WHERE actor_id = ? AND tenant_id = ? AND version > ? ORDER BY version LIMIT ?`,
    ),
    historyOldest: db.prepare<[string, string], { oldest: number | null }>(
      `SELECT MIN(version) AS oldest FROM actor_history WHERE actor_id = ? AND tenant_id = ?`,
    ),
  };

  // One read transaction, so the page and the oldest version agree.
  const readHistory = db.transaction((tenantId: string, actorId: string, afterVersion: number, limit: number): HistoryPage => {
    const entries = s.history
      .all(actorId, tenantId, afterVersion, limit)
      .map((r): HistoryEntry => ({ version: r.version, at: r.at, view: JSON.parse(r.view) as SnapshotChange }));
    return { entries, oldestVersion: s.historyOldest.get(actorId, tenantId)?.oldest ?? null };
  });

  /** The stored result of a live idempotency key, or `undefined`. */
  function replayed(tenantId: string, scope: string, claim: IdempotencyClaim) {
    const row = s.idemGet.get(tenantId, scope, claim.key);
    if (!row || row.expires_at <= claim.nowMs) return undefined;
    return row;
  }

  return {
    async create(record, idempotency) {
      return batcher.write((): IdempotentResult<string> => {
        if (idempotency) {
          const prior = replayed(record.tenantId, 'spawn', idempotency);
          if (prior) return { fresh: false, value: JSON.parse(prior.result) as string, requestHash: prior.request_hash };
        }
        s.insert.run({
          id: record.id,
          tenant_id: record.tenantId,
          kind: record.kind,
          status: record.status,
          final: isFinalStatus(record.status) ? 1 : 0,
          value: json(record.value),
          tags: JSON.stringify(record.tags),
          machine_id: record.machineId,
          machine_version: record.machineVersion,
          snapshot: json(record.snapshot),
          input: json(record.input),
          contract_id: record.contractId,
          output: json(record.output),
          error: json(record.error),
          timers: JSON.stringify(record.timers),
          version: record.version,
          applied_seq: record.appliedSeq,
          last_seq: record.lastSeq,
          owner_id: record.ownerId,
          lease_until: record.leaseUntil,
          epoch: record.epoch,
          created_at: record.createdAt,
          updated_at: record.updatedAt,
        });
        if (idempotency) {
          s.idemPut.run(record.tenantId, 'spawn', idempotency.key, idempotency.requestHash, JSON.stringify(record.id), idempotency.expiresAt);
        }
        return { fresh: true, value: record.id };
      }, { single: !idempotency });
    },

    async get(tenantId, id) {
      const row = s.get.get(id, tenantId);
      return row ? toRecord(row) : null;
    },

    async list(filter: ActorListFilter): Promise<Page<ActorRecord>> {
      const where = ['tenant_id = @tenant'];
      const params: Record<string, unknown> = { tenant: filter.tenantId, limit: filter.limit + 1 };
      if (filter.kind) (where.push('kind = @kind'), (params.kind = filter.kind));
      if (filter.status) (where.push('status = @status'), (params.status = filter.status));
      if (filter.tag) {
        where.push('EXISTS (SELECT 1 FROM json_each(actors.tags) WHERE json_each.value = @tag)');
        params.tag = filter.tag;
      }
      // Newest first by creation time: ids carry a per-kind prefix, so id order is not time order.
      if (filter.cursor) {
        where.push('(created_at, id) < (SELECT created_at, id FROM actors WHERE id = @cursor AND tenant_id = @tenant)');
        params.cursor = filter.cursor;
      }
      const rows = db
        .prepare<Record<string, unknown>, ActorRow>(
          `SELECT * FROM actors WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT @limit`,
        )
        .all(params);
      const more = rows.length > filter.limit;
      const items = rows.slice(0, filter.limit).map(toRecord);
      return { items, nextCursor: more ? (items[items.length - 1]?.id ?? null) : null };
    },

    async append(tenantId, actorId, event, acceptedAt, idempotency) {
      return batcher.write((): IdempotentResult<number> => {
        const scope = `send:${actorId}`;
        if (idempotency) {
          const prior = replayed(tenantId, scope, idempotency);
          if (prior) return { fresh: false, value: JSON.parse(prior.result) as number, requestHash: prior.request_hash };
        }
        const head = s.head.get(actorId);
        if (!head || head.tenant_id !== tenantId) throw new AppError('not-found', `No actor ${actorId}`);
        if (head.final === 1) throw new AppError('actor-final', `Actor ${actorId} is final and takes no events`);
        const seq = head.last_seq + 1;
        s.bumpSeq.run(seq, actorId);
        s.mailboxInsert.run(actorId, seq, tenantId, JSON.stringify(event), acceptedAt);
        if (idempotency) {
          s.idemPut.run(tenantId, scope, idempotency.key, idempotency.requestHash, JSON.stringify(seq), idempotency.expiresAt);
        }
        return { fresh: true, value: seq };
      });
    },

    async pending(tenantId, actorId, afterSeq) {
      return s.pending.all(actorId, tenantId, afterSeq).map(toEntry);
    },

    async event(tenantId, actorId, seq) {
      const row = s.event.get(actorId, tenantId, seq);
      return row ? toEntry(row) : null;
    },

    async commit(id, owner, expectedVersion, patch: CommitPatch) {
      const final = isFinalStatus(patch.status);
      const params = {
        id,
        expected: expectedVersion,
        owner_id: owner.ownerId,
        epoch: owner.epoch,
        status: patch.status,
        value: json(patch.value),
        tags: JSON.stringify(patch.tags),
        snapshot: json(patch.snapshot),
        machine_version: patch.machineVersion,
        contract_id: patch.contractId,
        output: json(patch.output),
        error: json(patch.error),
        timers: JSON.stringify(patch.timers),
        applied_seq: patch.appliedSeq,
        updated_at: new Date().toISOString(),
      };
      const full = (): number => {
        if ((final ? s.commitFinal : s.commit).run(params).changes === 0) {
          const head = s.head.get(id);
          if (!head) throw new AppError('not-found', `No actor ${id}`);
          if (head.owner_id !== owner.ownerId || head.epoch !== owner.epoch) {
            throw new AppError('lease-lost', `Actor ${id} is owned at epoch ${head.epoch} by another process`);
          }
          throw new AppError('version-conflict', `Actor ${id} is at version ${head.version}, not ${expectedVersion}`);
        }
        for (const o of patch.outcomes) s.outcome.run(o.outcome, json(o.error), id, o.seq);
        // Events accepted after the owner last read its mailbox can no longer apply.
        if (final) s.refuseRest.run(endedBeforeApplied(id), id, patch.appliedSeq);
        return expectedVersion + 1;
      };
      if (patch.outcomes.length > 0) return batcher.write(full);
      if (!final) return batcher.write(full, { single: true });
      return batcher.write(
        () => (s.commitFinalClean.run(params).changes === 1 ? expectedVersion + 1 : atomically(db, full)),
        { single: true },
      );
    },

    async claim(ownerId, nowMs, leaseMs, limit) {
      return immediate(db, () => {
        const out: ActorRecord[] = [];
        for (const { id } of s.claimable.all(nowMs, limit)) {
          if (s.take.run(ownerId, nowMs + leaseMs, id, nowMs).changes === 1) {
            const row = s.byId.get(id);
            if (row) out.push(toRecord(row));
          }
        }
        return out;
      });
    },

    async renew(ownerId, held, leaseUntil) {
      return immediate(db, () => held.filter((h) => s.renew.run(leaseUntil, h.id, ownerId, h.epoch).changes === 0).map((h) => h.id));
    },

    async release(ownerId, ids) {
      immediate(db, () => {
        for (const id of ids) s.release.run(id, ownerId);
      });
    },

    async withPendingEvents(ownerId) {
      return s.withPending.all(ownerId).map((r) => ({ id: r.id, tenantId: r.tenant_id }));
    },

    async purgeExpired(nowMs) {
      return s.idemPurge.run(nowMs).changes;
    },

    async history(tenantId, actorId, afterVersion, limit) {
      return readHistory(tenantId, actorId, afterVersion, limit);
    },
  };
}
