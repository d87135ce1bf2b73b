/**
 * What the stream tests share (http/stream.ts): runtimes of the counter machine with their
 * stream edge on a store the test file chooses, an SSE reader, and small drivers.
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { createRuntime, type ActorView, type Runtime } from '../../src/actors/index.js';
import { auth, type AuthVariables } from '../../src/http/auth.js';
import { problemResponse } from '../../src/http/problem.js';
import { registerStreamRoutes } from '../../src/http/stream.js';
import { silentLogger } from '../../src/logger.js';
import type { Stores } from '../../src/persistence/ports.js';
import { counterCatalog } from '../cluster/fixtures/counter.js';

export const KEY_A = 'key-alpha-0001';
export const KEY_B = 'key-bravo-0002';
export const TENANT_A = 'alpha';

export interface Node {
  stores: Stores;
  runtime: Runtime;
  app: Hono<{ Variables: AuthVariables }>;
}

export interface NodeOptions {
  ownerId: string;
  historyMax?: number;
  heartbeatMs?: number;
  wrap?: (s: Stores) => Stores;
}

/** Opens a store connection (one per node) on the test's shared database. */
export type OpenStores = (options: { historyMax?: number }) => Promise<Stores>;

/**
 * Nodes ("processes") on one database, and servers for them; `closeAll` (in `afterEach`)
 * closes everything opened, newest first.
 */
export function nodeKit(openStores: OpenStores) {
  const opened: { close(): Promise<void> }[] = [];
  return {
    /** A runtime with its own store connection, and its stream edge. */
    async node(options: NodeOptions): Promise<Node> {
      const raw = await openStores({ historyMax: options.historyMax });
      const stores = options.wrap ? options.wrap(raw) : raw;
      const runtime = createRuntime({ stores, catalog: counterCatalog(), logger: silentLogger(), ownerId: options.ownerId, pollMs: 20 });
      await runtime.start();
      opened.push({
        async close() {
          await runtime.close();
          await raw.close();
        },
      });
      const logger = silentLogger();
      const app = new Hono<{ Variables: AuthVariables }>();
      app.onError((err, c) => problemResponse(c, err, logger));
      app.use(
        '/v1/*',
        auth({
          keys: [
            { key: KEY_A, tenantId: TENANT_A },
            { key: KEY_B, tenantId: 'bravo' },
          ],
          localTenant: 'local',
        }),
      );
      registerStreamRoutes(app, { runtime, stores, logger, heartbeatMs: options.heartbeatMs ?? 10_000, replayBatch: 3 });
      return { stores, runtime, app };
    },
    /** Serves `app` on an ephemeral loopback port until `closeAll`. */
    async listen(app: Node['app']): Promise<{ url: string }> {
      const server = await new Promise<ServerType>((resolve) => {
        const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
      });
      opened.push({
        close: () =>
          new Promise<void>((resolve) => {
            (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
            server.close(() => resolve());
          }),
      });
      return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    },
    async closeAll(): Promise<void> {
      for (const o of opened.splice(0).reverse()) await o.close();
    },
  };
}

export async function spawnCounter(n: Node): Promise<string> {
  const { id } = await n.runtime.spawn('agentSession', {}, { tenantId: TENANT_A });
  await n.runtime.waitFor(id, { tenantId: TENANT_A, until: { tag: 'waiting' }, timeoutMs: 5000 });
  return id;
}

export async function add(n: Node, id: string, p: string): Promise<ActorView> {
  return (await n.runtime.send(id, { type: 'ADD', p }, { tenantId: TENANT_A, waitFor: 'applied', timeoutMs: 5000 })).view;
}

export async function versionOf(n: Node, id: string): Promise<number> {
  return (await n.runtime.inspect(id, { tenantId: TENANT_A })).version;
}

export function open(app: Node['app'], id: string, headers: Record<string, string> = {}, key: string | null = KEY_A, query = ''): Promise<Response> {
  const h: Record<string, string> = { ...headers };
  if (key) h.authorization = `Bearer ${key}`;
  return Promise.resolve(app.request(`/v1/actors/${id}/stream${query}`, { headers: h }));
}

export interface SseEvent {
  event: string;
  id: string | undefined;
  data: string;
}

export interface SseMessage {
  comment?: string;
  event?: SseEvent;
}

/** Reads SSE messages (events and comment lines) from a response body, as they arrive. */
export function sseReader(res: Response) {
  const body = res.body;
  if (!body) throw new Error('no body');
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const queue: SseMessage[] = [];
  let done = false;

  function parse(block: string): SseMessage[] {
    const out: SseMessage[] = [];
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    let isEvent = false;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) out.push({ comment: line.slice(1).trim() });
      else if (line.startsWith('event: ')) ((event = line.slice(7)), (isEvent = true));
      else if (line.startsWith('id: ')) ((id = line.slice(4)), (isEvent = true));
      else if (line.startsWith('data: ')) (data.push(line.slice(6)), (isEvent = true));
    }
    if (isEvent) out.push({ event: { event, id, data: data.join('\n') } });
    return out;
  }

  async function pull(): Promise<boolean> {
    const { done: end, value } = await reader.read();
    if (end) {
      done = true;
      return false;
    }
    buffer += decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      queue.push(...parse(buffer.slice(0, cut)));
      buffer = buffer.slice(cut + 2);
    }
    return true;
  }

  return {
    /** The next message, or `null` once the stream ended. */
    async next(timeoutMs = 5000): Promise<SseMessage | null> {
      const deadline = Date.now() + timeoutMs;
      while (queue.length === 0) {
        if (done) return null;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('no SSE message in time');
        const more = await Promise.race([pull(), new Promise<'late'>((r) => setTimeout(() => r('late'), left))]);
        if (more === 'late') throw new Error('no SSE message in time');
      }
      return queue.shift() ?? null;
    },
    /** The next event, skipping comment lines; `null` once the stream ended. */
    async nextEvent(timeoutMs = 5000): Promise<SseEvent | null> {
      for (;;) {
        const m = await this.next(timeoutMs);
        if (m === null) return null;
        if (m.event) return m.event;
      }
    },
    /** Events until the stream ends. */
    async rest(timeoutMs = 5000): Promise<SseEvent[]> {
      const out: SseEvent[] = [];
      for (let e = await this.nextEvent(timeoutMs); e; e = await this.nextEvent(timeoutMs)) out.push(e);
      return out;
    },
    cancel: () => reader.cancel(),
  };
}

export const viewOf = (e: SseEvent): ActorView => JSON.parse(e.data) as ActorView;
export const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Waits until `value()` stops changing for `quietMs` (at most 5 s). */
export async function settle(value: () => number, quietMs: number): Promise<void> {
  const deadline = Date.now() + 5000;
  let last = value();
  let since = Date.now();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    const v = value();
    if (v !== last) ((last = v), (since = Date.now()));
    else if (Date.now() - since >= quietMs) return;
  }
  throw new Error('value kept changing');
}
