/**
 * @module cli
 * The `symphainy` command: `serve` runs the server (what `npm start` runs); `spawn`, `send`,
 * `inspect`, `ls`, `intents` talk to a running server (`--url`, `--key`). Human-readable by
 * default, `--json` for scripts; a non-zero exit with a one-line reason on bad input.
 */
import { parseArgs } from 'node:util';
import { clientDefaults, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { startServer } from './main.js';

const USAGE = `usage: symphainy <command> [options]
  serve                                   run the server (embedded store, port 8787)
  intents                                 list the server's intents
  spawn <kind> [input-json]               spawn an actor (execution | agentSession | bulkOperation)
  run <intent> [params-json]              spawn an execution of an intent and wait for it
  send <actor-id> <event-json>            send an event (--wait done|applied|tag:x)
  inspect <actor-id>                      show an actor
  ls [--kind k] [--status s]              list actors
options: --url <server> (default http://127.0.0.1:8787) --key <api key> --json`;

class UsageError extends Error {}

async function call(url: string, key: string | undefined, method: string, path: string, body?: unknown): Promise<unknown> {
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(new URL(path, url), { method, headers, body: body === undefined ? null : JSON.stringify(body) });
  const text = await res.text();
  const data = text ? (JSON.parse(text) as unknown) : null;
  if (!res.ok) {
    const p = data as { code?: string; detail?: string } | null;
    throw new UsageError(`${res.status} ${p?.code ?? ''}: ${p?.detail ?? text}`.trim());
  }
  return data;
}

function json(arg: string | undefined, what: string): unknown {
  if (arg === undefined) return undefined;
  try {
    return JSON.parse(arg) as unknown;
  } catch {
    throw new UsageError(`${what} is not valid JSON`);
  }
}

function print(value: unknown, asJson: boolean): void {
  process.stdout.write(asJson ? `${JSON.stringify(value)}\n` : `${JSON.stringify(value, null, 2)}\n`);
}

async function main(argv: string[]): Promise<void> {
  const defaults = clientDefaults();
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string', default: defaults.url },
      key: { type: 'string', default: defaults.key },
      json: { type: 'boolean', default: false },
      wait: { type: 'string' },
      kind: { type: 'string' },
      status: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const { url, key } = values;
  switch (command) {
    case 'serve': {
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
      return;
    }
    case 'intents':
      return print(await call(url, key, 'GET', '/v1/intents'), values.json);
    case 'spawn': {
      if (!rest[0]) throw new UsageError('spawn needs a kind');
      return print(await call(url, key, 'POST', '/v1/actors', { kind: rest[0], input: json(rest[1], 'input') ?? {} }), values.json);
    }
    case 'run': {
      if (!rest[0]) throw new UsageError('run needs an intent type');
      const path = `/v1/intents/${encodeURIComponent(rest[0])}?waitFor=done&timeoutMs=300000`;
      return print(await call(url, key, 'POST', path, json(rest[1], 'params') ?? {}), values.json);
    }
    case 'send': {
      if (!rest[0] || !rest[1]) throw new UsageError('send needs an actor id and an event');
      const wait = values.wait ? `?waitFor=${encodeURIComponent(values.wait)}` : '';
      return print(await call(url, key, 'POST', `/v1/actors/${encodeURIComponent(rest[0])}/events${wait}`, json(rest[1], 'event')), values.json);
    }
    case 'inspect':
      if (!rest[0]) throw new UsageError('inspect needs an actor id');
      return print(await call(url, key, 'GET', `/v1/actors/${encodeURIComponent(rest[0])}`), values.json);
    case 'ls': {
      const q = new URLSearchParams();
      if (values.kind) q.set('kind', values.kind);
      if (values.status) q.set('status', values.status);
      return print(await call(url, key, 'GET', `/v1/actors?${q.toString()}`), values.json);
    }
    default:
      throw new UsageError(`unknown command ${command}\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`symphainy: ${message.split('\n')[0]}\n`);
  process.exit(e instanceof UsageError ? 2 : 1);
});
