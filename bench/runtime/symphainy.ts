/**
 * @module bench/runtime/symphainy
 * Symphainy on the embedded SQLite store: durable executions (spawn -> contract -> trivial
 * handler -> done, every transition persisted before it is acknowledged), and `send` with
 * `waitFor` on agent sessions (MESSAGE -> responding -> back to the `waiting` tag), with a
 * trivial responder that stores a one-line answer artifact.
 */
import Database from 'better-sqlite3';
import { z } from 'zod';
import { createRuntime, type AgentResponder } from '../../src/actors/index.js';
import { createIntentRegistry, type IntentDefinition } from '../../src/intents/index.js';
import { silentLogger } from '../../src/logger.js';
import { createSqliteStores } from '../../src/persistence/sqlite/index.js';
import { measureLevels, readDurability, runPass, SQLITE_SETTINGS, tempDir, type Pass } from '../lib/measure.js';
import type { SystemOptions, SystemResult } from './types.js';

const TENANT = { tenantId: 't1' } as const;
const TIMEOUT_MS = 10_000;

/** The trivial handler: validates its (empty) params and produces nothing. */
export const benchNoop: IntentDefinition<Record<string, never>> = {
  type: 'bench_noop',
  realm: 'content',
  mode: 'short',
  description: 'Does nothing; the runtime benchmark measures the lifecycle around it.',
  params: z.object({}).strict(),
  async handler() {
    return [];
  },
};

/** The trivial agent turn: stores a one-line answer (every answer is an artifact) and returns it. */
export const benchRespond: AgentResponder = (ctx, turn) => ctx.emit('answer', { text: `ok ${turn.n}` }, { n: turn.n });

/**
 * Runs `open` while recording every better-sqlite3 connection it configures, so the
 * benchmark can read `synchronous` back from the connection the store really writes with.
 */
function captureConnections<T>(open: () => T): { value: T; connections: Database.Database[] } {
  const proto = Database.prototype;
  const original = proto.pragma;
  const connections = new Set<Database.Database>();
  proto.pragma = function (this: Database.Database, ...args: Parameters<typeof original>) {
    connections.add(this);
    return original.apply(this, args);
  } as typeof original;
  try {
    return { value: open(), connections: [...connections] };
  } finally {
    proto.pragma = original;
  }
}

export async function runSymphainy(options: SystemOptions & { sends: number }): Promise<SystemResult> {
  const tmp = tempDir('symphainy');
  const { value: stores, connections } = captureConnections(() =>
    createSqliteStores(tmp.dir, { synchronous: SQLITE_SETTINGS.synchronous }),
  );
  const db = connections[0];
  if (connections.length !== 1 || !db) throw new Error(`symphainy: expected one SQLite connection, saw ${connections.length}`);
  const runtime = createRuntime({
    stores,
    intents: createIntentRegistry([benchNoop as IntentDefinition<never>]),
    respond: benchRespond,
    logger: silentLogger(),
  });
  try {
    await runtime.start();

    let executions = 0;
    let versions = 0;
    async function execution(): Promise<void> {
      const { id } = await runtime.spawn('execution', { intent: 'bench_noop', params: {} }, TENANT);
      const view = await runtime.waitFor(id, { ...TENANT, until: 'done', timeoutMs: TIMEOUT_MS });
      if (view.status !== 'done') throw new Error(`symphainy: execution ${id} ended ${view.status}`);
      executions++;
      // The spawn record holds the first state (version 0); each later commit adds one.
      versions += view.version + 1;
    }
    const { passes, rowsWrittenPerWorkflow } = await measureLevels(db, options, execution);

    // send + waitFor: one session per concurrent caller, each sending in turn.
    const send: Pass[] = [];
    for (const concurrency of options.concurrency) {
      const sessions: string[] = [];
      for (let i = 0; i < concurrency; i++) {
        const { id } = await runtime.spawn('agentSession', {}, TENANT);
        await runtime.waitFor(id, { ...TENANT, until: { tag: 'waiting' }, timeoutMs: TIMEOUT_MS });
        sessions.push(id);
      }
      const free = [...sessions];
      const message = async (i: number): Promise<void> => {
        const sid = free.pop();
        if (!sid) throw new Error('symphainy: no free session');
        try {
          const { view } = await runtime.send(sid, { type: 'MESSAGE', text: `hi ${i}` }, { ...TENANT, waitFor: { tag: 'waiting' }, timeoutMs: TIMEOUT_MS });
          if (!view.tags.includes('waiting')) throw new Error(`symphainy: session ${sid} answered in ${JSON.stringify(view.value)}`);
        } finally {
          free.push(sid);
        }
      };
      await runPass(Math.min(options.warmup, 500), concurrency, message);
      send.push(await runPass(options.sends, concurrency, message));
      for (const sid of sessions) await runtime.stop(sid, TENANT);
    }

    return {
      system: 'symphainy',
      description: 'Symphainy runtime on the embedded SQLite store (durable mailbox, leases, contract)',
      ...readDurability(db),
      persistedStatesPerWorkflow: versions / executions,
      rowsWrittenPerWorkflow,
      workflows: passes,
      send,
    };
  } finally {
    await runtime.close();
    await stores.close();
    tmp.dispose();
  }
}
