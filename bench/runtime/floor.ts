/**
 * @module bench/runtime/floor
 * The floor: a bare XState v5 actor, created -> contract -> working -> done with trivial
 * transitions, whose every snapshot is written once to a SQLite table with better-sqlite3
 * (one autocommit upsert per snapshot, WAL, `synchronous = NORMAL`). No mailbox, no
 * leases, no contract record: the least work a "persisted actor" can do.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { createActor, fromPromise, setup, type AnyMachineSnapshot } from 'xstate';
import { measureLevels, readDurability, SQLITE_SETTINGS, tempDir } from '../lib/measure.js';
import type { SystemOptions, SystemResult } from './types.js';

export const floorMachine = setup({
  types: { events: {} as { type: 'START' } | { type: 'GRANT' } },
  actors: { work: fromPromise(async () => ({ ok: true })) },
}).createMachine({
  id: 'floor',
  initial: 'created',
  states: {
    created: { on: { START: 'contract' } },
    contract: { on: { GRANT: 'working' } },
    working: { invoke: { src: 'work', onDone: 'done' } },
    done: { type: 'final' },
  },
});

export async function runFloor(options: SystemOptions): Promise<SystemResult> {
  const tmp = tempDir('floor');
  const db = new Database(join(tmp.dir, 'floor.db'));
  try {
    db.pragma(`journal_mode = ${SQLITE_SETTINGS.journalMode}`);
    db.pragma(`synchronous = ${SQLITE_SETTINGS.synchronous}`);
    db.pragma(`wal_autocheckpoint = ${SQLITE_SETTINGS.walAutocheckpoint}`);
    db.exec('CREATE TABLE snapshots (id TEXT PRIMARY KEY, version INTEGER NOT NULL, snapshot TEXT NOT NULL)');
    const upsert = db.prepare(
      'INSERT INTO snapshots (id, version, snapshot) VALUES (?, ?, ?) ' +
        'ON CONFLICT (id) DO UPDATE SET version = excluded.version, snapshot = excluded.snapshot',
    );
    let workflows = 0;
    let writes = 0;

    async function workflow(id: string): Promise<void> {
      const actor = createActor(floorMachine, { id });
      let version = 0;
      let last: AnyMachineSnapshot | undefined;
      const done = new Promise<void>((resolve, reject) => {
        actor.subscribe({
          next(snapshot) {
            if (snapshot === last) return; // every distinct snapshot exactly once
            last = snapshot;
            upsert.run(id, ++version, JSON.stringify(actor.getPersistedSnapshot()));
            writes++;
            if (snapshot.status === 'done') resolve();
          },
          error: reject,
        });
      });
      actor.start();
      actor.send({ type: 'START' });
      actor.send({ type: 'GRANT' });
      await done;
      workflows++;
    }

    const { passes, rowsWrittenPerWorkflow } = await measureLevels(db, options, workflow);
    const stored = db.prepare("SELECT count(*) FROM snapshots WHERE json_extract(snapshot, '$.value') = 'done'").pluck().get();
    if (stored !== workflows) throw new Error(`floor: ${String(stored)} done snapshots stored for ${workflows} workflows`);
    return {
      system: 'floor',
      description: 'bare XState v5 actor, every snapshot upserted once (better-sqlite3)',
      ...readDurability(db),
      persistedStatesPerWorkflow: writes / workflows,
      rowsWrittenPerWorkflow,
      workflows: passes,
    };
  } finally {
    db.close();
    tmp.dispose();
  }
}
