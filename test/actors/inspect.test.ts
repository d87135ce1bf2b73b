/**
 * Live inspection (actors/inspect.ts): a `ws` client on the relay receives the Stately
 * inspector's messages for the inspected tenant's actors, spawned or rehydrated, and never
 * anything of another tenant; the relay listens on loopback and refuses foreign web pages.
 */
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startInspector, type Inspector } from '../../src/actors/inspect.js';
import { silentLogger } from '../../src/logger.js';
import { harness, tenant, type Harness } from './helpers.js';

let h: Harness | undefined;
let inspector: Inspector | undefined;
const clients: WebSocket[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  await h?.cleanup();
  await inspector?.close();
  h = undefined;
  inspector = undefined;
});

interface Message {
  type: string;
  sessionId: string;
  name?: string;
  rootId?: string;
  snapshot?: { status?: string; value?: unknown; context?: { actorId?: string; tenantId?: string } };
}

/** A client of the relay that keeps every message it receives (raw and parsed). */
async function client(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  clients.push(ws);
  const raw: string[] = [];
  ws.on('message', (data) => raw.push(data.toString()));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const parsed = () => raw.map((m) => JSON.parse(m) as Message);
  return {
    raw,
    parsed,
    /** Waits until a message satisfies `pred` (at most 5 s). */
    async until(pred: (m: Message) => boolean): Promise<Message> {
      const deadline = Date.now() + 5000;
      for (;;) {
        const hit = parsed().find(pred);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`no such message among ${raw.length}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}

/** Whether a connection with these headers is accepted. */
function accepted(url: string, headers: Record<string, string>): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.terminate();
      resolve(true);
    });
    ws.once('error', () => resolve(false));
  });
}

describe('live inspection relay', () => {
  it("relays the actor and snapshot events of the inspected tenant's spawned actors, never another tenant's", async () => {
    const mine = tenant();
    const other = tenant();
    inspector = await startInspector({ tenantId: mine, port: 0, logger: silentLogger() });
    h = await harness({ inspection: inspector.inspection });
    const watcher = await client(inspector.url);

    const hidden = await h.runtime.spawn('agentSession', {}, { tenantId: other });
    const { id } = await h.runtime.spawn('agentSession', {}, { tenantId: mine });
    await h.runtime.waitFor(id, { tenantId: mine, until: { tag: 'waiting' }, timeoutMs: 5000 });
    await h.runtime.waitFor(hidden.id, { tenantId: other, until: { tag: 'waiting' }, timeoutMs: 5000 });

    const actor = await watcher.until((m) => m.type === '@xstate.actor' && m.name === id);
    expect(actor.snapshot?.context).toMatchObject({ actorId: id, tenantId: mine });
    const waiting = await watcher.until((m) => m.type === '@xstate.snapshot' && m.sessionId === actor.sessionId && m.snapshot?.value === 'idle');
    expect(waiting.snapshot?.status).toBe('active');
    await watcher.until((m) => m.type === '@xstate.event' && m.sessionId === actor.sessionId);

    // A replayed spawn creates nothing, and shows nothing.
    const keyed = await h.runtime.spawn('agentSession', {}, { tenantId: mine, idempotencyKey: 'once' });
    expect(await h.runtime.spawn('agentSession', {}, { tenantId: mine, idempotencyKey: 'once' })).toEqual({ id: keyed.id, fresh: false });
    // Another of my actors spawned after the hidden one's events: everything before it has arrived.
    const later = await h.runtime.spawn('agentSession', {}, { tenantId: mine });
    await watcher.until((m) => m.type === '@xstate.actor' && m.name === later.id);
    expect(watcher.raw.some((m) => m.includes(hidden.id) || m.includes(other))).toBe(false);
    const roots = new Set(watcher.parsed().filter((m) => m.type === '@xstate.actor' && m.rootId === m.sessionId).map((m) => m.name));
    expect(roots).toEqual(new Set([id, keyed.id, later.id]));
  });

  it('shows actors rehydrated after a restart, with their current snapshot, to a client that connects later', async () => {
    const mine = tenant();
    h = await harness();
    const { id } = await h.runtime.spawn('agentSession', {}, { tenantId: mine });
    await h.runtime.send(id, { type: 'MESSAGE', text: 'before the restart' }, { tenantId: mine, waitFor: { tag: 'waiting' }, timeoutMs: 5000 });
    await h.runtime.close();
    const stored = await h.stores.actors.get(mine, id);

    inspector = await startInspector({ tenantId: mine, port: 0, logger: silentLogger() });
    const restarted = await h.reopen({ inspection: inspector.inspection });
    expect((await h.stores.actors.get(mine, id))?.ownerId).toBe(restarted.ownerId);

    const late = await client(inspector.url);
    const actor = await late.until((m) => m.type === '@xstate.actor' && m.name === id);
    const snap = await late.until((m) => m.type === '@xstate.snapshot' && m.sessionId === actor.sessionId);
    expect(snap.snapshot?.value).toEqual(stored?.value);
    expect(snap.snapshot?.context).toMatchObject({ actorId: id, turns: [{ n: 1, text: 'before the restart' }] });
    // Registration before snapshot, as the inspector needs them.
    const kinds = late.parsed().filter((m) => m.sessionId === actor.sessionId).map((m) => m.type);
    expect(kinds.indexOf('@xstate.actor')).toBeLessThan(kinds.indexOf('@xstate.snapshot'));
  });

  it('listens on loopback only and refuses foreign web origins and hosts', async () => {
    inspector = await startInspector({ tenantId: tenant(), port: 0, logger: silentLogger() });
    const port = new URL(inspector.url).port;
    expect(new URL(inspector.url).hostname).toBe('127.0.0.1');
    expect(await accepted(inspector.url, {})).toBe(true);
    expect(await accepted(inspector.url, { origin: `http://127.0.0.1:${port}` })).toBe(true);
    expect(await accepted(inspector.url, { origin: 'https://evil.example' })).toBe(false);
    expect(await accepted(inspector.url, { origin: `http://127.0.0.1:${Number(port) + 1}` })).toBe(false);
    expect(await accepted(inspector.url, { host: `evil.example:${port}` })).toBe(false);
    const page = await fetch(inspector.pageUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`ws://127.0.0.1:${port}`);
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal);
    if (external) expect(await accepted(`ws://${external.address}:${port}`, {})).toBe(false);
  });
});
