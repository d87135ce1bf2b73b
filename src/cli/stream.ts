/**
 * @module cli/stream
 * `symphainy stream <actor-id> [--json]`: follows an actor's snapshots over SSE
 * (`GET /v1/actors/:id/stream`, http/stream.ts) and prints each as it arrives: one line
 * `v<version> <status> <state> [tags]` by default, one JSON line `{ event, version, view }`
 * with `--json`. A dropped connection is resumed with `Last-Event-ID`, so nothing is missed
 * or printed twice; the command exits 0 once the actor is final.
 */
import { parseArgs } from 'node:util';
import { CliError, usageError, type Command } from './command.js';
import { REMOTE_OPTIONS, exitCodeOf, remoteOf, stateText, type Remote } from './remote.js';

const FINAL = new Set(['done', 'failed', 'rejected', 'stopped']);

export interface StreamActorOptions {
  /** JSON lines instead of human-readable ones. */
  json?: boolean;
  /** Where lines go. @defaultValue process.stdout */
  write?: (line: string) => void;
  /** Where reconnect notices go. @defaultValue process.stderr */
  notice?: (line: string) => void;
  /** First reconnect delay, doubled up to 5 s while failing. @defaultValue 250 */
  retryMs?: number;
  /** Reconnects in a row without receiving anything before giving up. @defaultValue 8 */
  maxRetries?: number;
  /** A connection silent this long (heartbeats included) is dropped and resumed, ms. @defaultValue 60000 */
  idleMs?: number;
  /** Resume after this version instead of starting from the current snapshot. */
  lastEventId?: number;
  signal?: AbortSignal;
}

interface SseEvent {
  event: string;
  id: string | undefined;
  data: string;
}

/** Splits an SSE byte stream into events (the WHATWG parsing rules; comments dropped). */
export async function* sseEvents(body: ReadableStream<Uint8Array>, idleMs: number): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<'idle'>((resolve) => {
        timer = setTimeout(() => resolve('idle'), idleMs);
      });
      const chunk = await Promise.race([reader.read(), idle]).finally(() => clearTimeout(timer));
      if (chunk === 'idle') throw new Error(`no data for ${idleMs} ms`);
      if (chunk.done) return;
      buffer += decoder.decode(chunk.value, { stream: true });
      const lines = buffer.split(/\r\n|\r|\n/);
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        if (line === '') {
          if (data.length > 0 || event) yield { event: event || 'message', id, data: data.join('\n') };
          event = '';
          data = [];
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
        else if (field === 'id' && !value.includes('\0')) id = value;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

interface View {
  status?: string;
  value?: unknown;
  tags?: string[];
  version?: number;
}

function humanLine(event: string, view: View): string {
  const tags = view.tags && view.tags.length > 0 ? ` [${view.tags.join(', ')}]` : '';
  const prefix = event === 'reset' ? 'reset ' : '';
  return `${prefix}v${view.version ?? '?'} ${view.status ?? '?'} ${stateText(view.value)}${tags}`;
}

/** A problem answer as a one-line error with the exit code of its type, as the other remote verbs do. */
async function problemError(res: Response): Promise<CliError> {
  const text = await res.text();
  let p: { code?: string; detail?: string } | null = null;
  try {
    p = JSON.parse(text) as { code?: string; detail?: string };
  } catch {
    p = null;
  }
  return new CliError(`${res.status} ${p?.code ?? ''}: ${p?.detail ?? text}`.replace(/\s+/g, ' ').trim(), exitCodeOf(p?.code));
}

/**
 * Follows `actorId` until it is final, printing every snapshot version once. Resolves when
 * the actor is final; rejects with a {@link CliError} on a problem answer (unknown actor,
 * bad key) or when reconnecting keeps failing.
 */
export async function streamActor(remote: Remote, actorId: string, options: StreamActorOptions = {}): Promise<void> {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const notice = options.notice ?? ((line: string) => process.stderr.write(`${line}\n`));
  const retryMs = options.retryMs ?? 250;
  const maxRetries = options.maxRetries ?? 8;
  const idleMs = options.idleMs ?? 60_000;
  let last = options.lastEventId;
  let failures = 0;
  const url = new URL(`/v1/actors/${encodeURIComponent(actorId)}/stream`, remote.url);

  for (;;) {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (remote.key) headers.authorization = `Bearer ${remote.key}`;
    if (last !== undefined) headers['last-event-id'] = String(last);
    let reason: string;
    try {
      const res = await fetch(url, { headers, ...(options.signal ? { signal: options.signal } : {}) });
      // 204: the version we hold is the final one.
      if (res.status === 204) return;
      if (!res.ok || !res.body) throw await problemError(res);
      for await (const e of sseEvents(res.body, idleMs)) {
        if (e.event !== 'snapshot' && e.event !== 'reset') continue;
        const view = JSON.parse(e.data) as View;
        const version = Number(e.id ?? view.version);
        if (last !== undefined && version <= last && e.event !== 'reset') continue;
        last = version;
        failures = 0;
        write(options.json ? JSON.stringify({ event: e.event, version, view }) : humanLine(e.event, view));
        if (view.status && FINAL.has(view.status)) return;
      }
      reason = 'the server closed the stream';
    } catch (e) {
      if (e instanceof CliError) throw e;
      if (options.signal?.aborted) throw new CliError('interrupted');
      reason = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
    }
    failures++;
    if (failures > maxRetries) throw new CliError(`stream of ${actorId} lost: ${reason}`);
    const delay = Math.min(5000, retryMs * 2 ** (failures - 1));
    notice(`symphainy: ${reason}; resuming${last === undefined ? '' : ` after v${last}`} in ${delay} ms`);
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

export const streamCommand: Command = {
  name: 'stream',
  usage: 'stream <actor-id> [--json]              follow an actor\'s snapshots until it is final',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { ...REMOTE_OPTIONS, 'last-event-id': { type: 'string' } },
    });
    const id = positionals[0];
    if (!id) throw usageError('stream needs an actor id');
    const rawLast = values['last-event-id'];
    if (rawLast !== undefined && !/^\d{1,15}$/.test(rawLast)) throw usageError('--last-event-id must be a snapshot version');
    await streamActor(remoteOf(values), id, { json: Boolean(values.json), ...(rawLast === undefined ? {} : { lastEventId: Number(rawLast) }) });
    return 0;
  },
};
