/**
 * @module cli/remote
 * Verbs that talk to a running server over HTTP (`--url`, `--key`), and `serve`.
 */
import { parseArgs } from 'node:util';
import { clientDefaults, loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { startServer } from '../main.js';
import { CliError, jsonArg, printJson, usageError, type Command } from './command.js';

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

/** Calls the server; a problem answer becomes a {@link CliError} with its status and code. */
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
    const p = data as { code?: string; detail?: string } | null;
    throw new CliError(`${res.status} ${p?.code ?? ''}: ${p?.detail ?? text}`.replace(/\s+/g, ' ').trim());
  }
  return data;
}

function remoteVerb(name: string, usage: string, extra: Record<string, { type: 'string' }>, body: (remote: Remote, rest: string[], values: Record<string, string | boolean | undefined>) => Promise<unknown>): Command {
  return {
    name,
    usage,
    async run(args) {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...REMOTE_OPTIONS, ...extra } });
      const out = await body(remoteOf(values as { url?: string; key?: string }), positionals, values);
      printJson(out, Boolean(values.json));
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

export const remoteCommands: Command[] = [
  remoteVerb('intents', 'intents                                 list the server\'s intents', {}, (r) => call(r, 'GET', '/v1/intents')),
  remoteVerb('spawn', 'spawn <kind> [input-json]               spawn an actor (execution | agentSession | bulkOperation)', {}, (r, rest) => {
    if (!rest[0]) throw usageError('spawn needs a kind');
    return call(r, 'POST', '/v1/actors', { kind: rest[0], input: jsonArg(rest[1], 'input') ?? {} });
  }),
  remoteVerb('run', 'run <intent> [params-json]              spawn an execution of an intent and wait for it', {}, (r, rest) => {
    if (!rest[0]) throw usageError('run needs an intent type');
    return call(r, 'POST', `/v1/intents/${encodeURIComponent(rest[0])}?waitFor=done&timeoutMs=300000`, jsonArg(rest[1], 'params') ?? {});
  }),
  remoteVerb('send', 'send <actor-id> <event-json>            send an event (--wait done|applied|tag:x)', { wait: { type: 'string' } }, (r, rest, values) => {
    if (!rest[0] || !rest[1]) throw usageError('send needs an actor id and an event');
    const wait = typeof values.wait === 'string' ? `?waitFor=${encodeURIComponent(values.wait)}` : '';
    return call(r, 'POST', `/v1/actors/${encodeURIComponent(rest[0])}/events${wait}`, jsonArg(rest[1], 'event'));
  }),
  remoteVerb('inspect', 'inspect <actor-id>                      show an actor', {}, (r, rest) => {
    if (!rest[0]) throw usageError('inspect needs an actor id');
    return call(r, 'GET', `/v1/actors/${encodeURIComponent(rest[0])}`);
  }),
  remoteVerb('ls', 'ls [--kind k] [--status s]              list actors', { kind: { type: 'string' }, status: { type: 'string' } }, (r, _rest, values) => {
    const q = new URLSearchParams();
    if (typeof values.kind === 'string') q.set('kind', values.kind);
    if (typeof values.status === 'string') q.set('status', values.status);
    return call(r, 'GET', `/v1/actors?${q.toString()}`);
  }),
];
