/**
 * @module bench/runtime/langgraph
 * The same 4-step workflow in LangGraph.js: a StateGraph of four nodes in sequence
 * (created -> contract -> working -> done), compiled with the SQLite checkpointer on a file
 * database, invoked with `durability: 'sync'` (each checkpoint is saved before the next step).
 */
import { Annotation, END, START, StateGraph, type BaseCheckpointSaver } from '@langchain/langgraph';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { measureLevels, readDurability, SQLITE_SETTINGS, tempDir } from '../lib/measure.js';
import type { SystemOptions, SystemResult } from './types.js';

const WorkflowState = Annotation.Root({
  status: Annotation<string>,
  granted: Annotation<boolean>,
  result: Annotation<string>,
});

/** The 4-node workflow, compiled with `checkpointer` (shared with the MongoDB run). */
export function workflowGraph(checkpointer: BaseCheckpointSaver) {
  return new StateGraph(WorkflowState)
    .addNode('created', () => ({ status: 'created' }))
    .addNode('contract', () => ({ status: 'contract', granted: true }))
    .addNode('working', async () => ({ status: 'working', result: 'ok' }))
    .addNode('done', () => ({ status: 'done' }))
    .addEdge(START, 'created')
    .addEdge('created', 'contract')
    .addEdge('contract', 'working')
    .addEdge('working', 'done')
    .addEdge('done', END)
    .compile({ checkpointer });
}

export async function runLangGraph(options: SystemOptions): Promise<SystemResult> {
  const tmp = tempDir('langgraph');
  const db = new Database(join(tmp.dir, 'langgraph.db'));
  try {
    db.pragma(`journal_mode = ${SQLITE_SETTINGS.journalMode}`);
    db.pragma(`synchronous = ${SQLITE_SETTINGS.synchronous}`);
    db.pragma(`wal_autocheckpoint = ${SQLITE_SETTINGS.walAutocheckpoint}`);
    const checkpointer = new SqliteSaver(db);

    const graph = workflowGraph(checkpointer);

    let workflows = 0;
    async function workflow(threadId: string): Promise<void> {
      const out = await graph.invoke(
        { status: 'new', granted: false, result: '' },
        { configurable: { thread_id: threadId }, durability: 'sync' },
      );
      if (out.status !== 'done' || !out.granted) throw new Error(`langgraph: thread ${threadId} ended ${JSON.stringify(out)}`);
      workflows++;
    }

    const { passes, rowsWrittenPerWorkflow } = await measureLevels(db, options, workflow);
    const { threads, checkpoints } = db
      .prepare('SELECT count(DISTINCT thread_id) AS threads, count(*) AS checkpoints FROM checkpoints')
      .get() as { threads: number; checkpoints: number };
    if (threads !== workflows) throw new Error(`langgraph: ${String(threads)} threads checkpointed for ${workflows} workflows`);
    return {
      system: 'langgraph',
      description: "LangGraph.js StateGraph, 4 nodes, SqliteSaver on a file DB, durability 'sync'",
      ...readDurability(db),
      persistedStatesPerWorkflow: checkpoints / threads,
      rowsWrittenPerWorkflow,
      workflows: passes,
    };
  } finally {
    db.close();
    tmp.dispose();
  }
}
