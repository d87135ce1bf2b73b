/**
 * @module cli/remote
 * Verbs that talk to a running server over HTTP (`--url`, `--key`), and `serve`.
 *
 * Output is human-readable by default (a compact table for `ls` and `intents`, a short
 * summary for `inspect`, `run`, `spawn` and `send`) and the server's JSON, one line, with
 * `--json`. The exit code follows the problem type of a refusal ({@link exitCodeOf}).
 */
import { parseArgs } from 'node:util';
import { clientDefaults, loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { startServer } from '../main.js';
import { CliError, jsonArg, usageError, type Command } from './command.js';

/** The options every remote verb takes. */
export const REMOTE_OPTIONS = {
  url: { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

export interface Remote {
  url: string;
  key: string | undefined;
}

export function remoteOf(values: { url?: string | undefined; key?: string | undefined }): Remote {
  const defaults = clientDefaults();
  return { url: values.url ?? defaults.url, key: values.key ?? defaults.key };
}

/**
 * Exit codes of the remote verbs, by the problem type the server answered (or the actor's
 * `error` for `run`):
 *
 * | code | meaning | problem types |
 * | --- | --- | --- |
 * | 0 | done | |
 * | 1 | any other failure (server error, unreachable server, failed work) | `internal`, `store-unavailable`, … |
 * | 2 | usage error (the command line itself) | |
 * | 3 | not found | `not-found`, `intent-unknown` |
 * | 4 | invalid input | `params-invalid`, `kind-unknown`, `malformed-json`, `unsupported-media-type`, `payload-too-large`, `method-not-allowed`, `last-event-id-invalid`, `idempotency-conflict`, `parse-error`, `bpmn-invalid`, … |
 * | 5 | refused or denied | `unauthorized`, `contract-denied`, `contract-expired`, `contract-missing`, `materialization-insufficient`, `pii-denied`, `event-not-accepted`, `actor-final`, `rate-limited`, `turn-limit` |
 * | 6 | timed out | `wait-timeout` |
 */
export const EXIT_CODES = {
  other: 1,
  usage: 2,
  notFound: 3,
  invalid: 4,
  refused: 5,
  timeout: 6,
} as const;

const NOT_FOUND = new Set(['not-found', 'intent-unknown']);
const INVALID = new Set([
  'params-invalid',
  'kind-unknown',
  'malformed-json',
  'unsupported-media-type',
  'payload-too-large',
  'method-not-allowed',
  'last-event-id-invalid',
  'idempotency-conflict',
  'file-too-large',
  'unsupported-format',
  'parse-error',
  'bad-rows-exceeded',
  'unsafe-content',
  'record-too-large',
  'document-too-large',
  'bpmn-invalid',
]);
const REFUSED = new Set([
  'unauthorized',
  'contract-denied',
  'contract-expired',
  'contract-missing',
  'materialization-insufficient',
  'pii-denied',
  'event-not-accepted',
  'actor-final',
  'rate-limited',
  'turn-limit',
]);

/** The exit code for a problem type (see {@link EXIT_CODES}). */
export function exitCodeOf(code: string | undefined): number {
  if (code === undefined) return EXIT_CODES.other;
  if (NOT_FOUND.has(code)) return EXIT_CODES.notFound;
  if (INVALID.has(code)) return EXIT_CODES.invalid;
  if (REFUSED.has(code)) return EXIT_CODES.refused;
  if (code === 'wait-timeout') return EXIT_CODES.timeout;
  return EXIT_CODES.other;
}

/** Calls the server; a problem answer becomes a {@link CliError} with its status, code and exit code. */
export async function call(remote: Remote, method: string, path: string, body?: unknown): Promise<unknown> {
  const headers: Record<string, string> = {};
  if (remote.key) headers.authorization = `Bearer ${remote.key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(new URL(path, remote.url), { method, headers, body: body === undefined ? null : JSON.stringify(body) });
  } catch (e) {
    throw new CliError(`cannot reach ${remote.url}: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`);
  }
  const text = await res.text();
  let data: unknown = null;
  try {
    data = text ? (JSON.parse(text) as unknown) : null;
  } catch {
    data = text;
  }
  if (!res.ok) {
    const p = data as { code?: string; detail?: string; actorId?: string } | null;
    const code = typeof p?.code === 'string' ? p.code : undefined;
    const retry = code === 'wait-timeout' && p?.actorId ? ` (actor ${p.actorId}; follow it with: symphainy inspect ${p.actorId})` : '';
    throw new CliError(`${res.status} ${code ?? ''}: ${p?.detail ?? text}${retry}`.replace(/\s+/g, ' ').trim(), exitCodeOf(code));
  }
  return data;
}

// ----- human output -------------------------------------------------------------------------

interface ActorView {
  id: string;
  kind: string;
  status: string;
  value?: unknown;
  tags?: string[];
  contractId?: string | null;
  machineId?: string;
  machineVersion?: number;
  version?: number;
  output?: { artifacts?: { id: string; kind: string }[] } & Record<string, unknown>;
  progress?: { phase: string; done: number; total: number | null };
  error?: { code: string; detail: string };
  createdAt?: string;
  updatedAt?: string;
  seq?: number;
}

/** An XState state value as a dotted path: `{ working: 'parsing' }` → `working.parsing`. */
export function stateText(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') {
    const parts = Object.entries(value as Record<string, unknown>).map(([k, v]) => {
      const inner = stateText(v);
      return inner === '-' || (typeof v === 'object' && v !== null && Object.keys(v).length === 0) ? k : `${k}.${inner}`;
    });
    return parts.length === 1 ? (parts[0] ?? '-') : `{${parts.join(', ')}}`;
  }
  return String(value);
}

/** A compact table: one header line, columns padded to their widest cell (the last one free). */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

const short = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

function summary(v: ActorView): string {
  const lines = [
    `${v.id}  ${v.kind}  ${v.status}`,
    `  state     ${stateText(v.value)}${v.tags && v.tags.length > 0 ? `  [${v.tags.join(', ')}]` : ''}`,
  ];
  if (v.contractId !== undefined) lines.push(`  contract  ${v.contractId ?? '-'}`);
  if (v.machineId !== undefined) lines.push(`  machine   ${v.machineId} v${v.machineVersion ?? '?'}, snapshot version ${v.version ?? '?'}`);
  if (v.progress) lines.push(`  progress  ${v.progress.phase} ${v.progress.done}${v.progress.total === null ? '' : `/${v.progress.total}`}`);
  if (v.seq !== undefined) lines.push(`  event     #${v.seq}`);
  if (v.createdAt) lines.push(`  created   ${v.createdAt}${v.updatedAt ? `, updated ${v.updatedAt}` : ''}`);
  const artifacts = v.output?.artifacts;
  if (artifacts && artifacts.length > 0) {
    lines.push(`  artifacts`);
    for (const a of artifacts) lines.push(`    ${a.id}  ${a.kind}`);
  } else if (v.output !== undefined) {
    lines.push(`  output    ${short(JSON.stringify(v.output), 200)}`);
  }
  if (v.error) lines.push(`  error     ${v.error.code}: ${short(v.error.detail.split('\n')[0] ?? '', 200)}`);
  return lines.join('\n');
}

function write(text: string): void {
  process.stdout.write(`${text}\n`);
}

// ----- verbs --------------------------------------------------------------------------------

type Values = Record<string, string | boolean | undefined>;

/**
 * A remote verb: `body` fetches, `human` prints the answer for people. With `--json` the
 * answer is printed as one JSON line instead. `body` may return an exit code with its data.
 */
function remoteVerb<T>(
  name: string,
  usage: string,
  extra: Record<string, { type: 'string' }>,
  body: (remote: Remote, rest: string[], values: Values) => Promise<T>,
  human: (data: T) => string,
  exitOf: (data: T) => number = () => 0,
): Command {
  return {
    name,
    usage,
    async run(args) {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...REMOTE_OPTIONS, ...extra } });
      const data = await body(remoteOf(values as { url?: string; key?: string }), positionals, values);
      write(values.json ? JSON.stringify(data) : human(data));
      return exitOf(data);
    },
  };
}

export const serveCommand: Command = {
  name: 'serve',
  usage: 'serve                                   run the server (embedded store, port 8787)',
  async run() {
    const config = loadConfig();
    const logger = createLogger(config.logLevel);
    const server = await startServer(config, logger);
    const shutdown = () => {
      server.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  },
};

interface IntentList {
  items: { type: string; realm: string; mode: string; description: string; params: { properties?: Record<string, unknown>; required?: string[] } }[];
}

interface ActorPage {
  items: ActorView[];
  nextCursor: string | null;
}

function paramsText(params: IntentList['items'][number]['params']): string {
  const required = new Set(params.required ?? []);
  return Object.keys(params.properties ?? {})
    .map((p) => (required.has(p) ? p : `${p}?`))
    .join(', ');
}

export const remoteCommands: Command[] = [
  remoteVerb(
    'intents',
    "intents                                 list the server's intents and their parameters",
    {},
    (r) => call(r, 'GET', '/v1/intents') as Promise<IntentList>,
    (data) => table(['TYPE', 'REALM', 'MODE', 'DESCRIPTION', 'PARAMS (? optional)'], data.items.map((i) => [i.type, i.realm, i.mode, short(i.description, 60), paramsText(i.params)])),
  ),
  remoteVerb(
    'spawn',
    'spawn <kind> [input-json]               spawn an actor (execution | agentSession | bulkOperation)',
    {},
    (r, rest) => {
      if (!rest[0]) throw usageError('spawn needs a kind');
      return call(r, 'POST', '/v1/actors', { kind: rest[0], input: jsonArg(rest[1], 'input') ?? {} }) as Promise<ActorView>;
    },
    (v) => `${v.id}  ${v.kind}  ${v.status}`,
  ),
  remoteVerb(
    'run',
    'run <intent> [params-json]              spawn an execution of an intent and wait for it (--timeout ms)',
    { timeout: { type: 'string' } },
    (r, rest, values) => {
      if (!rest[0]) throw usageError('run needs an intent type');
      const timeout = typeof values.timeout === 'string' ? values.timeout : '300000';
      if (!/^\d+$/.test(timeout)) throw usageError('--timeout is a number of milliseconds');
      return call(r, 'POST', `/v1/intents/${encodeURIComponent(rest[0])}?waitFor=done&timeoutMs=${timeout}`, jsonArg(rest[1], 'params') ?? {}) as Promise<ActorView>;
    },
    summary,
    // The execution's own outcome decides: a rejected or failed run exits by its problem type.
    (v) => (v.status === 'done' ? 0 : v.error ? exitCodeOf(v.error.code) : EXIT_CODES.other),
  ),
  remoteVerb(
    'send',
    'send <actor-id> <event-json>            send an event (--wait applied|done|tag:x, --timeout ms)',
    { wait: { type: 'string' }, timeout: { type: 'string' } },
    (r, rest, values) => {
      if (!rest[0] || !rest[1]) throw usageError('send needs an actor id and an event');
      const q = new URLSearchParams();
      if (typeof values.wait === 'string') q.set('waitFor', values.wait);
      if (typeof values.timeout === 'string') q.set('timeoutMs', values.timeout);
      const query = q.size > 0 ? `?${q.toString()}` : '';
      return call(r, 'POST', `/v1/actors/${encodeURIComponent(rest[0])}/events${query}`, jsonArg(rest[1], 'event')) as Promise<ActorView>;
    },
    (v) => (v.kind === undefined ? `${v.id}  event #${v.seq ?? '?'} stored  ${v.status}` : summary(v)),
  ),
  remoteVerb(
    'inspect',
    'inspect <actor-id>                      show an actor',
    {},
    (r, rest) => {
      if (!rest[0]) throw usageError('inspect needs an actor id');
      return call(r, 'GET', `/v1/actors/${encodeURIComponent(rest[0])}`) as Promise<ActorView>;
    },
    summary,
  ),
  remoteVerb(
    'ls',
    'ls [--kind k] [--status s] [--tag t]    list actors, newest first (--limit n, --cursor c)',
    { kind: { type: 'string' }, status: { type: 'string' }, tag: { type: 'string' }, limit: { type: 'string' }, cursor: { type: 'string' } },
    (r, _rest, values) => {
      const q = new URLSearchParams();
      for (const k of ['kind', 'status', 'tag', 'limit', 'cursor']) {
        const v = values[k];
        if (typeof v === 'string') q.set(k, v);
      }
      return call(r, 'GET', `/v1/actors?${q.toString()}`) as Promise<ActorPage>;
    },
    (page) => {
      const rows = page.items.map((a) => [a.id, a.kind, a.status, short(stateText(a.value), 30), a.updatedAt ?? '']);
      const out = table(['ID', 'KIND', 'STATUS', 'STATE', 'UPDATED'], rows);
      return page.nextCursor ? `${out}\n(more: --cursor ${page.nextCursor})` : out;
    },
  ),
];
