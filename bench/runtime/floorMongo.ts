/**
 * @module bench/runtime/floorMongo
 * The floor on MongoDB: the same bare XState v5 actor as `floor.ts` (created -> contract ->
 * working -> done), whose every snapshot is one `replaceOne` (upsert) of one document on the
 * server at `MONGO_URL`. An actor's writes go one after another (each starts when the one
 * before it was acknowledged, so they land in order), and a workflow counts as done when the
 * write of its final snapshot is acknowledged. No mailbox, no leases, no contract record.
 */
import { MongoClient } from 'mongodb';
import { createActor, type AnyMachineSnapshot } from 'xstate';
import { countCommands, describeServer, monitoredUrl, freshDbName, measureMongoLevels, storedDocumentsPerWorkflow } from '../lib/mongo.js';
import { floorMachine } from './floor.js';
import type { MongoSystemResult, SystemOptions } from './types.js';

interface SnapshotDoc {
  _id: string;
  version: number;
  /** The persisted snapshot as JSON text, as the SQLite floor and Symphainy store it. */
  snapshot: string;
  status: string;
}

export async function runFloorMongo(url: string, options: SystemOptions): Promise<MongoSystemResult> {
  const client = new MongoClient(monitoredUrl(url));
  const counter = countCommands(client);
  const dbName = freshDbName('floor');
  const db = client.db(dbName);
  try {
    const { server } = describeServer(await client.db('admin').command({ buildInfo: 1 }));
    const snapshots = db.collection<SnapshotDoc>('snapshots');
    let workflows = 0;
    let writes = 0;

    async function workflow(id: string): Promise<void> {
      const actor = createActor(floorMachine, { id });
      let version = 0;
      let last: AnyMachineSnapshot | undefined;
      let tail: Promise<unknown> = Promise.resolve();
      const done = new Promise<void>((resolve, reject) => {
        actor.subscribe({
          next(snapshot) {
            if (snapshot === last) return; // every distinct snapshot exactly once
            last = snapshot;
            const doc = { version: ++version, snapshot: JSON.stringify(actor.getPersistedSnapshot()), status: snapshot.status };
            const final = snapshot.status === 'done';
            tail = tail.then(async () => {
              await snapshots.replaceOne({ _id: id }, doc, { upsert: true });
              writes++;
              if (final) resolve();
            });
            tail.catch(reject);
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

    const { passes, ...counts } = await measureMongoLevels(counter, options, workflow);
    const stored = await snapshots.countDocuments({ status: 'done' });
    if (stored !== workflows) throw new Error(`floor-mongo: ${stored} done snapshots stored for ${workflows} workflows`);
    const documentsPerWorkflow = await storedDocumentsPerWorkflow(db, workflows);
    return {
      system: 'floor-mongo',
      description: 'bare XState v5 actor, every snapshot one replaceOne upsert (mongodb driver 7)',
      server,
      writeConcern: client.writeConcern ? JSON.stringify(client.writeConcern) : 'default',
      dbName,
      persistedStatesPerWorkflow: writes / workflows,
      documentsPerWorkflow,
      ...counts,
      workflows: passes,
    };
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}
