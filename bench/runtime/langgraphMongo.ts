/**
 * @module bench/runtime/langgraphMongo
 * The same 4-node LangGraph.js workflow as `langgraph.ts`, checkpointed with
 * `@langchain/langgraph-checkpoint-mongodb` (`MongoDBSaver`, its indexes created by
 * `setup()`) on the server at `MONGO_URL`, invoked with `durability: 'sync'`.
 *
 * The saver is handed a client of the `mongodb` driver it depends on (6.x, nested under the
 * package) rather than the project's 7.x: that is the client its types ask for, and how a
 * LangGraph user installing the package gets it.
 */
import { MongoDBSaver } from '@langchain/langgraph-checkpoint-mongodb';
import { createRequire } from 'node:module';
import { countCommands, describeServer, monitoredUrl, freshDbName, measureMongoLevels, storedDocumentsPerWorkflow } from '../lib/mongo.js';
import { workflowGraph } from './langgraph.js';
import type { MongoSystemResult, SystemOptions } from './types.js';

type SaverClient = ConstructorParameters<typeof MongoDBSaver>[0]['client'];

/** The `mongodb` driver the checkpointer package resolves (its own dependency). */
function saverDriver(): { MongoClient: new (url: string) => SaverClient; version: string } {
  const requireFromSaver = createRequire(createRequire(import.meta.url).resolve('@langchain/langgraph-checkpoint-mongodb'));
  const driver = requireFromSaver('mongodb') as { MongoClient: new (url: string) => SaverClient };
  const { version } = requireFromSaver('mongodb/package.json') as { version: string };
  return { MongoClient: driver.MongoClient, version };
}

export async function runLangGraphMongo(url: string, options: SystemOptions): Promise<MongoSystemResult> {
  const { MongoClient, version } = saverDriver();
  const client = new MongoClient(monitoredUrl(url));
  const counter = countCommands(client);
  const dbName = freshDbName('langgraph');
  const db = client.db(dbName);
  try {
    const { server } = describeServer(await client.db('admin').command({ buildInfo: 1 }));
    const checkpointer = new MongoDBSaver({ client, dbName });
    const setupErrors = await checkpointer.setup();
    if (setupErrors.length > 0) throw new Error(`langgraph-mongo: MongoDBSaver.setup() failed: ${setupErrors.map(String).join('; ')}`);
    const graph = workflowGraph(checkpointer);

    let workflows = 0;
    async function workflow(threadId: string): Promise<void> {
      const out = await graph.invoke(
        { status: 'new', granted: false, result: '' },
        { configurable: { thread_id: threadId }, durability: 'sync' },
      );
      if (out.status !== 'done' || !out.granted) throw new Error(`langgraph-mongo: thread ${threadId} ended ${JSON.stringify(out)}`);
      workflows++;
    }

    const { passes, ...counts } = await measureMongoLevels(counter, options, workflow);
    const checkpoints = db.collection(checkpointer.checkpointCollectionName);
    const threads = (await checkpoints.distinct('thread_id')).length;
    const total = await checkpoints.countDocuments({});
    if (threads !== workflows) throw new Error(`langgraph-mongo: ${threads} threads checkpointed for ${workflows} workflows`);
    const documentsPerWorkflow = await storedDocumentsPerWorkflow(db, workflows);
    return {
      system: 'langgraph-mongo',
      description: `LangGraph.js StateGraph, 4 nodes, MongoDBSaver (mongodb driver ${version}), durability 'sync'`,
      server,
      writeConcern: client.writeConcern ? JSON.stringify(client.writeConcern) : 'default',
      dbName,
      persistedStatesPerWorkflow: total / threads,
      documentsPerWorkflow,
      ...counts,
      workflows: passes,
    };
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}
