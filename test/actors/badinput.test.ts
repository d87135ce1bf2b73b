/**
 * Bad input at the runtime: every malformed or refused request gets its typed error, and
 * nothing is stored: no actor, no mailbox entry, no idempotency key, no snapshot change.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/actors/index.js';
import { harness, tenant, type Harness } from './helpers.js';

let h: Harness;
afterEach(async () => h?.cleanup());

interface World {
  runtime: Runtime;
  t: string;
  /** An idle agent session. */
  live: string;
  /** An ended agent session. */
  ended: string;
}

/** Everything the tests compare: every actor's stored record and mailbox. */
async function storeState(w: World): Promise<unknown> {
  const page = await h.stores.actors.list({ tenantId: w.t, limit: 100 });
  const out = [];
  for (const r of page.items) {
    out.push({
      id: r.id,
      status: r.status,
      version: r.version,
      lastSeq: r.lastSeq,
      appliedSeq: r.appliedSeq,
      snapshot: r.snapshot,
      mailbox: await h.stores.actors.pending(w.t, r.id, 0),
    });
  }
  return out;
}

const PROFILE = { intent: 'profile_text', params: { text: 'a b' } };
const BIG_TEXT = 'x'.repeat(300 * 1024);

type Case = [name: string, run: (w: World) => Promise<unknown>, code: string, paths?: string[]];

const spawnCases: Case[] = [
  ['unknown kind', (w) => w.runtime.spawn('policy', PROFILE, { tenantId: w.t }), 'kind-unknown'],
  ['kind named like an Object.prototype member', (w) => w.runtime.spawn('constructor', PROFILE, { tenantId: w.t }), 'kind-unknown'],
  ['kind __proto__', (w) => w.runtime.spawn('__proto__', PROFILE, { tenantId: w.t }), 'kind-unknown'],
  ['empty kind', (w) => w.runtime.spawn('', PROFILE, { tenantId: w.t }), 'kind-unknown'],
  ['unknown intent', (w) => w.runtime.spawn('execution', { intent: 'summon_dragon', params: {} }, { tenantId: w.t }), 'intent-unknown'],
  [
    'a non-bulk intent for a bulk operation',
    (w) => w.runtime.spawn('bulkOperation', PROFILE, { tenantId: w.t }),
    'intent-unknown',
  ],
  [
    'a parameter of the wrong type',
    (w) => w.runtime.spawn('execution', { intent: 'profile_text', params: { text: 5 } }, { tenantId: w.t }),
    'params-invalid',
    ['params.text'],
  ],
  [
    'a missing parameter',
    (w) => w.runtime.spawn('execution', { intent: 'profile_text' }, { tenantId: w.t }),
    'params-invalid',
    ['params.text'],
  ],
  [
    'an unknown parameter',
    (w) => w.runtime.spawn('execution', { intent: 'profile_text', params: { text: 'a', colour: 'red' } }, { tenantId: w.t }),
    'params-invalid',
    ['params'],
  ],
  [
    'an unknown spawn field',
    (w) => w.runtime.spawn('execution', { ...PROFILE, priority: 1 }, { tenantId: w.t }),
    'params-invalid',
    ['input'],
  ],
  [
    'an invalid solution id',
    (w) => w.runtime.spawn('execution', { ...PROFILE, solutionId: 'Not A Slug' }, { tenantId: w.t }),
    'params-invalid',
    ['input.solutionId'],
  ],
  [
    'an idle timeout below the minimum',
    (w) => w.runtime.spawn('agentSession', { idleTimeoutMs: 5 }, { tenantId: w.t }),
    'params-invalid',
    ['input.idleTimeoutMs'],
  ],
  ['a spawn input that is not an object', (w) => w.runtime.spawn('agentSession', 'hello', { tenantId: w.t }), 'params-invalid'],
  ['an invalid tenant id', (w) => w.runtime.spawn('execution', PROFILE, { tenantId: 'no spaces allowed' }), 'params-invalid', ['tenantId']],
  [
    'an oversize spawn input',
    (w) => w.runtime.spawn('execution', { intent: 'profile_text', params: { text: BIG_TEXT } }, { tenantId: w.t }),
    'payload-too-large',
  ],
  [
    'an idempotency key that is too long',
    (w) => w.runtime.spawn('execution', PROFILE, { tenantId: w.t, idempotencyKey: 'k'.repeat(201) }),
    'params-invalid',
    ['idempotencyKey'],
  ],
  [
    'a replayed spawn key with a different body',
    (w) => w.runtime.spawn('execution', { intent: 'profile_text', params: { text: 'other' } }, { tenantId: w.t, idempotencyKey: 'spawn-key' }),
    'idempotency-conflict',
  ],
];

const sendCases: Case[] = [
  ['a null event', (w) => w.runtime.send(w.live, null, { tenantId: w.t }), 'params-invalid', ['type']],
  ['a string event', (w) => w.runtime.send(w.live, 'END', { tenantId: w.t }), 'params-invalid', ['type']],
  ['an event without a type', (w) => w.runtime.send(w.live, { text: 'hi' }, { tenantId: w.t }), 'params-invalid', ['type']],
  ['an event with a non-string type', (w) => w.runtime.send(w.live, { type: 5 }, { tenantId: w.t }), 'params-invalid', ['type']],
  [
    'an internal xstate.after event',
    (w) => w.runtime.send(w.live, { type: 'xstate.after.idleTimeout.agentSession.idle' }, { tenantId: w.t }),
    'params-invalid',
    ['type'],
  ],
  [
    'an internal xstate.done event',
    (w) => w.runtime.send(w.live, { type: 'xstate.done.actor.respond', output: { answer: { id: 'x', kind: 'y' } } }, { tenantId: w.t }),
    'params-invalid',
    ['type'],
  ],
  ['an event type the kind does not know', (w) => w.runtime.send(w.live, { type: 'FLY' }, { tenantId: w.t }), 'params-invalid', ['event.type']],
  ['an event missing a field', (w) => w.runtime.send(w.live, { type: 'MESSAGE' }, { tenantId: w.t }), 'params-invalid', ['event.text']],
  ['an event with an empty text', (w) => w.runtime.send(w.live, { type: 'MESSAGE', text: '' }, { tenantId: w.t }), 'params-invalid', ['event.text']],
  ['an event with an unknown field', (w) => w.runtime.send(w.live, { type: 'END', force: true }, { tenantId: w.t }), 'params-invalid', ['event']],
  [
    'an oversize event',
    (w) => w.runtime.send(w.live, { type: 'MESSAGE', text: BIG_TEXT }, { tenantId: w.t, waitFor: 'applied' }),
    'payload-too-large',
  ],
  ['an event to a final actor', (w) => w.runtime.send(w.ended, { type: 'MESSAGE', text: 'hi' }, { tenantId: w.t }), 'actor-final'],
  [
    'an event to a final actor, waiting for it',
    (w) => w.runtime.send(w.ended, { type: 'END' }, { tenantId: w.t, waitFor: 'applied', timeoutMs: 1000 }),
    'actor-final',
  ],
  ['a stop to a final actor', (w) => w.runtime.stop(w.ended, { tenantId: w.t }), 'actor-final'],
  [
    'a replayed send key with a different body',
    (w) => w.runtime.send(w.live, { type: 'MESSAGE', text: 'different' }, { tenantId: w.t, idempotencyKey: 'send-key' }),
    'idempotency-conflict',
  ],
  ['an event to an unknown actor', (w) => w.runtime.send('ags_0000000000000000000000000', { type: 'END' }, { tenantId: w.t }), 'not-found'],
];

describe('bad input leaves the store unchanged', () => {
  let w: World;

  beforeEach(async () => {
    h = await harness();
    const t = tenant();
    const runtime = h.runtime;
    const live = (await runtime.spawn('agentSession', {}, { tenantId: t })).id;
    await runtime.send(live, { type: 'MESSAGE', text: 'hello' }, { tenantId: t, idempotencyKey: 'send-key', waitFor: { tag: 'waiting' }, timeoutMs: 5000 });
    const ended = (await runtime.spawn('agentSession', {}, { tenantId: t })).id;
    await runtime.waitFor(ended, { tenantId: t, until: { tag: 'waiting' }, timeoutMs: 5000 });
    await runtime.send(ended, { type: 'END' }, { tenantId: t, waitFor: 'done', timeoutMs: 5000 });
    const exe = (await runtime.spawn('execution', PROFILE, { tenantId: t, idempotencyKey: 'spawn-key' })).id;
    await runtime.waitFor(exe, { tenantId: t, until: 'done', timeoutMs: 5000 });
    w = { runtime, t, live, ended };
  });

  it.each([...spawnCases, ...sendCases])('%s', async (_name, run, code, paths) => {
    const before = await storeState(w);
    const err = await run(w).then(
      (v) => ({ resolved: v }),
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code });
    if (paths) {
      const errors = (err as { extras: { errors?: { path: string; message: string }[] } }).extras.errors ?? [];
      expect(errors.map((e) => e.path)).toEqual(paths);
      for (const e of errors) expect(e.message.length).toBeGreaterThan(0);
    }
    expect(await storeState(w)).toEqual(before);
    // No idempotency key was taken by the refused request: the keys still answer as before.
    const replay = await w.runtime.spawn('execution', PROFILE, { tenantId: w.t, idempotencyKey: 'spawn-key' });
    expect(replay.fresh).toBe(false);
    const page = await w.runtime.list({ tenantId: w.t, limit: 100 });
    expect(page.items).toHaveLength(3);
  });
});
