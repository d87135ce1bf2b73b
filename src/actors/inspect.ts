/**
 * @module actors/inspect
 * Live inspection with the Stately inspector (`SYMPHAINY_INSPECT=1`, DESIGN.md section 4).
 *
 * `@statelyai/inspect` turns XState's inspection events into the inspector's messages; this
 * module relays them over WebSocket, as the package's `createInspectorServer` relay does, with
 * three differences that make it safe to leave on:
 *
 * - it listens on loopback only (the package's relay binds every interface and opens a
 *   browser), and refuses WebSocket upgrades whose `Host` is not the loopback address (DNS
 *   rebinding) or whose `Origin` is a web page other than its own (any site in the user's
 *   browser could otherwise read it: WebSockets are not subject to CORS);
 * - it is fed in-process: the runtime passes {@link Inspector.inspection} to `createActor`
 *   for the actors of one tenant only (the relay is unauthenticated, so what it carries is
 *   what any local client can read), and nothing a client sends is relayed;
 * - a client that connects late receives every actor seen so far with its latest snapshot
 *   (the package replays its last 200 messages, which a busy process overflows), so actors
 *   rehydrated at boot show up whenever the inspector is opened.
 *
 * `GET /` on the relay's port serves the page that embeds the Stately inspector and bridges
 * the relay to it (the README section "Live inspection" gives the steps).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInspector } from '@statelyai/inspect';
import { WebSocket, WebSocketServer } from 'ws';
import type { InspectionEvent, Observer } from 'xstate';
import { toError } from '../errors.js';
import type { Logger } from '../logger.js';

export interface InspectorOptions {
  /** The only tenant whose actors are inspected. */
  tenantId: string;
  /** The relay's port on 127.0.0.1; 0 picks a free one. @defaultValue 8788 */
  port?: number;
  logger: Logger;
  /** The inspector UI the relay's page embeds. @defaultValue 'https://stately.ai/inspect' */
  uiUrl?: string;
  /** Actors remembered for late clients (oldest forgotten first). @defaultValue 1000 */
  maxActors?: number;
  /** Nesting depth kept when serialising contexts and events. @defaultValue 10 */
  depthLimit?: number;
}

export interface Inspector {
  readonly tenantId: string;
  /** The relay's WebSocket address, `ws://127.0.0.1:<port>`. */
  readonly url: string;
  /** The page that shows the Stately inspector fed by the relay, `http://127.0.0.1:<port>/`. */
  readonly pageUrl: string;
  /** What `RuntimeOptions.inspection` takes. */
  readonly inspection: { tenantId: string; inspect: Observer<InspectionEvent> };
  /** Closes every client and the relay. */
  close(): Promise<void>;
}

/** What `createInspector` sends its messages to (the package does not export the type). */
type Adapter = Parameters<typeof createInspector>[0];

const DEFAULTS = { port: 8788, uiUrl: 'https://stately.ai/inspect', maxActors: 1000, depthLimit: 10 } as const;

/**
 * JSON of `value` that cannot throw: `toJSON` honoured, functions as `{ type: name }`,
 * cycles as `"[Circular]"`, nesting beyond `depth` as `"[…]"`.
 */
export function safeJson(value: unknown, depth: number): string {
  const ancestors: object[] = [];
  const walk = (v: unknown, level: number): unknown => {
    if (typeof v === 'function') return { type: v.name };
    if (typeof v === 'bigint') return v.toString();
    if (typeof v !== 'object' || v === null) return v;
    const withJson = v as { toJSON?: unknown };
    if (typeof withJson.toJSON === 'function') return walk((withJson.toJSON as () => unknown).call(v), level);
    if (ancestors.includes(v)) return '[Circular]';
    if (level >= depth) return '[…]';
    ancestors.push(v);
    try {
      if (Array.isArray(v)) return v.map((x) => walk(x, level + 1) ?? null);
      if (v instanceof Error) return { name: v.name, message: v.message };
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const w = walk(x, level + 1);
        if (w !== undefined) out[k] = w;
      }
      return out;
    } finally {
      ancestors.pop();
    }
  };
  return JSON.stringify(walk(value, 0)) ?? 'null';
}

function bridgePage(wsUrl: string, uiUrl: string): string {
  return `<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  <title>Symphainy: Stately inspector</title>
  <style>* { margin: 0; padding: 0; } html, body { height: 100%; } iframe { width: 100%; height: 100%; border: none; }</style>
</head>
<body>
  <iframe id="inspector" src="${uiUrl}"></iframe>
  <script>
    const iframe = document.getElementById('inspector');
    const buffer = [];
    let connected = false;
    window.addEventListener('message', (e) => {
      if (e.data && e.data.type === '@statelyai.connected') {
        connected = true;
        for (const event of buffer) iframe.contentWindow.postMessage(event, '*');
        buffer.length = 0;
      }
    });
    const ws = new WebSocket(${JSON.stringify(wsUrl)});
    ws.onmessage = (event) => {
      const data = JSON.parse(event.data);
      if (connected) iframe.contentWindow.postMessage(data, '*');
      else buffer.push(data);
    };
  </script>
</body>
</html>`;
}

/** The hosts a loopback relay on `port` answers to. */
function loopbackHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]);
}

/**
 * Starts the relay on 127.0.0.1 and returns the inspection observer to give the runtime.
 * Rejects when the port is taken.
 *
 * @example
 * const inspector = await startInspector({ tenantId: 'local', logger });
 * const runtime = createRuntime({ stores, inspection: inspector.inspection });
 */
export async function startInspector(options: InspectorOptions): Promise<Inspector> {
  const { logger, tenantId } = options;
  const uiUrl = options.uiUrl ?? DEFAULTS.uiUrl;
  const maxActors = options.maxActors ?? DEFAULTS.maxActors;
  const depthLimit = options.depthLimit ?? DEFAULTS.depthLimit;
  let port = options.port ?? DEFAULTS.port;

  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/') !== '/' || !loopbackHosts(port).has(req.headers.host ?? '')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(bridgePage(`ws://127.0.0.1:${port}`, uiUrl));
  });
  const wss = new WebSocketServer({
    server,
    verifyClient: ({ req }: { req: IncomingMessage }) => {
      const hosts = loopbackHosts(port);
      if (!hosts.has(req.headers.host ?? '')) return false;
      const origin = req.headers.origin;
      // No Origin: not a browser (a local tool). A browser: only the relay's own page.
      return origin === undefined || hosts.has(origin.replace(/^http:\/\//, ''));
    },
  });

  /** Per inspected actor session: its registration and its latest snapshot, as sent. */
  const sessions = new Map<string, { actor: string | null; snapshot: string | null }>();

  function remember(sessionId: string, kind: 'actor' | 'snapshot', message: string): void {
    const known = sessions.get(sessionId) ?? { actor: null, snapshot: null };
    known[kind] = message;
    sessions.delete(sessionId);
    sessions.set(sessionId, known);
    if (sessions.size > maxActors) {
      const oldest = sessions.keys().next();
      if (!oldest.done) sessions.delete(oldest.value);
    }
  }

  const adapter: Adapter = {
    send(event) {
      let message: string;
      try {
        message = safeJson(event, depthLimit + 2);
      } catch (e) {
        logger.warn({ err: toError(e).message }, 'inspector: an inspection event could not be serialised');
        return;
      }
      if (event.type === '@xstate.actor') remember(event.sessionId, 'actor', message);
      else if (event.type === '@xstate.snapshot') remember(event.sessionId, 'snapshot', message);
      for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(message);
    },
  };
  const inspector = createInspector(adapter, { serializationDepthLimit: depthLimit, autoStart: true });

  wss.on('connection', (ws) => {
    // What a late client needs to draw every actor: registrations first, then snapshots.
    const known = [...sessions.values()];
    for (const s of known) if (s.actor) ws.send(s.actor);
    for (const s of known) if (s.snapshot) ws.send(s.snapshot);
    ws.on('error', (e) => logger.debug({ err: e.message }, 'inspector client error'));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const url = `ws://127.0.0.1:${port}`;
  logger.info({ url, pageUrl: `http://127.0.0.1:${port}/`, tenantId }, 'inspector relay listening (loopback only)');

  let closing: Promise<void> | null = null;
  return {
    tenantId,
    url,
    pageUrl: `http://127.0.0.1:${port}/`,
    inspection: { tenantId, inspect: inspector.inspect },
    close() {
      closing ??= (async () => {
        inspector.stop();
        for (const client of wss.clients) client.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closing;
    },
  };
}
