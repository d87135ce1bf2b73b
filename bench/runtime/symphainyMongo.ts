/**
 * @module bench/runtime/symphainyMongo
 * Symphainy on the MongoDB adapter (`createMongoStores`, a fresh database dropped afterwards):
 * the same durable executions and `send` with `waitFor` as `symphainy.ts` measures on SQLite.
 *
 * The runtime keeps its defaults (15 s leases renewed every 5 s, 250 ms polling). Its
 * warnings are counted, not printed: on a server that loses concurrent updates to one
 * document (FerretDB v1 does: it reads, changes and rewrites the whole document without a
 * check), a commit or an append that races the lease renewal is undone, the owner sees
 * `version-conflict` and drops its copy, and the actor waits for its lease to run out. A
 * send that fails is counted with its error code and the pass goes on; rates count the
 * sends that succeeded.
 */
import { MongoClient } from 'mongodb';
import { Writable } from 'node:stream';
import { createRuntime } from '../../src/actors/index.js';
import { createIntentRegistry, type IntentDefinition } from '../../src/intents/index.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { createMongoStores } from '../../src/persistence/mongo/index.js';
import type { Stores } from '../../src/persistence/ports.js';
import { runPass, type Pass } from '../lib/measure.js';
import { countCommands, describeServer, freshDbName, measureMongoLevels, monitoredUrl, newCounter, storedDocumentsPerWorkflow } from '../lib/mongo.js';
import { benchNoop, benchRespond } from './symphainy.js';
import type { MongoSystemResult, SystemOptions } from './types.js';

const TENANT = { tenantId: 't1' } as const;
/**
 * Longer than a lease (15 s), so an actor dropped after a lost update is reclaimed within it;
 * short enough to bound the run when one is not (its `dirty` mark was lost too).
 */
const TIMEOUT_MS = 20_000;

/** A warn-level logger that counts the runtime's warnings and errors by message and code. */
function countingLogger(): { logger: Logger; counts: Map<string, number>; total(): number } {
  const counts = new Map<string, number>();
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          const o = JSON.parse(line) as { msg?: string; code?: string };
          const key = o.code ? `${o.msg ?? '?'} (${o.code})` : (o.msg ?? '?');
          counts.set(key, (counts.get(key) ?? 0) + 1);
        } catch {
          counts.set('unparsed log line', (counts.get('unparsed log line') ?? 0) + 1);
        }
      }
      done();
    },
  });
  return { logger: createLogger('warn', sink), counts, total: () => [...counts.values()].reduce((a, b) => a + b, 0) };
}

function errorCode(e: unknown): string {
  if (typeof e === 'object' && e !== null && 'code' in e) return String((e as { code: unknown }).code);
  return e instanceof Error ? e.name : 'unknown';
}

/**
 * Runs `open` while recording every MongoClient that connects, so the benchmark can count
 * the commands of the client the store opens for itself.
 */
async function captureClients<T>(open: () => Promise<T>): Promise<{ value: T; clients: MongoClient[] }> {
  const proto = MongoClient.prototype;
  const original = proto.connect;
  const clients = new Set<MongoClient>();
  proto.connect = function (this: MongoClient) {
    clients.add(this);
    return original.call(this);
  };
  try {
    return { value: await open(), clients: [...clients] };
  } finally {
    proto.connect = original;
  }
}

export async function runSymphainyMongo(url: string, options: SystemOptions & { sends: number }): Promise<MongoSystemResult> {
  const dbName = freshDbName('symphainy');
  const { value: stores, clients } = await captureClients<Stores>(() => createMongoStores(monitoredUrl(url), { dbName }));
  const client = clients[0];
  const logs = countingLogger();
  const runtime = createRuntime({
    stores,
    intents: createIntentRegistry([benchNoop as IntentDefinition<never>]),
    respond: benchRespond,
    logger: logs.logger,
  });
  try {
    if (clients.length !== 1 || !client) throw new Error(`symphainy-mongo: expected one MongoClient, saw ${clients.length}`);
    const counter = countCommands(client, newCounter());
    const { server } = describeServer(await client.db('admin').command({ buildInfo: 1 }));
    await runtime.start();

    let executions = 0;
    let versions = 0;
    async function execution(): Promise<void> {
      const { id } = await runtime.spawn('execution', { intent: 'bench_noop', params: {} }, TENANT);
      const view = await runtime.waitFor(id, { ...TENANT, until: 'done', timeoutMs: TIMEOUT_MS });
      if (view.status !== 'done') throw new Error(`symphainy-mongo: execution ${id} ended ${view.status}`);
      executions++;
      // The spawn record holds the first state (version 0); each later commit adds one.
      versions += view.version + 1;
    }
    const { passes, ...counts } = await measureMongoLevels(counter, options, execution);
    const executionWarnings = logs.total();
    const documentsPerWorkflow = await storedDocumentsPerWorkflow(client.db(dbName), executions);

    // send + waitFor: one session per concurrent caller, each sending in turn.
    const send: Pass[] = [];
    let sendCommands = 0;
    let sendsMeasured = 0;
    const sendErrors: Record<string, number> = {};
    const warningsBeforeSends = logs.total();
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
        if (!sid) throw new Error('symphainy-mongo: no free session');
        try {
          const { view } = await runtime.send(sid, { type: 'MESSAGE', text: `hi ${i}` }, { ...TENANT, waitFor: { tag: 'waiting' }, timeoutMs: TIMEOUT_MS });
          if (!view.tags.includes('waiting')) throw new Error(`symphainy-mongo: session ${sid} answered in ${JSON.stringify(view.value)}`);
        } finally {
          free.push(sid);
        }
      };
      let failed = 0;
      const counted = async (i: number): Promise<void> => {
        try {
          await message(i);
        } catch (e) {
          failed++;
          const code = errorCode(e);
          sendErrors[code] = (sendErrors[code] ?? 0) + 1;
        }
      };
      await runPass(Math.min(options.warmup, 100), concurrency, counted);
      failed = 0;
      const before = counter.commands;
      const p = await runPass(options.sends, concurrency, counted);
      send.push({ ...p, perSecond: (p.n - failed) / p.seconds, failed });
      sendCommands += counter.commands - before;
      sendsMeasured += options.sends;
      for (const sid of sessions) {
        try {
          await runtime.stop(sid, TENANT);
        } catch (e) {
          const code = `stop: ${errorCode(e)}`;
          sendErrors[code] = (sendErrors[code] ?? 0) + 1;
        }
      }
    }

    return {
      system: 'symphainy-mongo',
      description: 'Symphainy runtime on the MongoDB adapter (durable mailbox, leases, contract)',
      server,
      writeConcern: client.writeConcern ? JSON.stringify(client.writeConcern) : 'default',
      dbName,
      persistedStatesPerWorkflow: versions / executions,
      documentsPerWorkflow,
      ...counts,
      workflows: passes,
      send,
      commandsPerSend: sendCommands / sendsMeasured,
      sendErrors,
      runtimeWarnings: { duringExecutions: executionWarnings, duringSends: logs.total() - warningsBeforeSends, byMessage: Object.fromEntries(logs.counts) },
    };
  } finally {
    await runtime.close();
    await client?.db(dbName).dropDatabase().catch(() => undefined);
    await stores.close();
  }
}
