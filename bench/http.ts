/**
 * @module bench/http
 * The HTTP edge under load on loopback (`autocannon`), against a bare Hono route in the same
 * run:
 *
 * - **bare**: `GET /bare` on a plain Hono app answering a small JSON object (the baseline);
 * - **inspect**: `GET /v1/actors/:id` on the Symphainy app (auth with an API key, rate
 *   limiter, request id, zod validation, one store read) over the embedded SQLite store;
 * - **spawn-and-wait**: `POST /v1/intents/profile_text?waitFor=done` on the same app: every
 *   request validates its parameters, stores a new execution actor, runs it through its
 *   contract state and the intent to `done` (every transition persisted) and answers 200 with
 *   the actor view.
 *
 * Each server runs in its own child process (so the load generator does not share its event
 * loop), the Symphainy one on a fresh temp directory. Targets (issue 5): inspect at least
 * 0.5x bare Hono; spawn-and-wait at least 1,000 requests/s.
 *
 * Both servers stay up and the passes alternate for a few rounds; the verdicts use the median
 * round, so drifting machine load weighs on the baseline and the measured pass alike.
 *
 * Usage: `node --import tsx bench/http.ts`. `BENCH_HTTP_SECONDS` (5), `BENCH_HTTP_WARMUP` (2),
 * `BENCH_HTTP_CONNECTIONS` (16), `BENCH_HTTP_ROUNDS` (3) override the pass shape.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { arch, cpus, loadavg, platform } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { envInt } from './lib/measure.js';

const SERVER_PREFIX = 'BENCH_HTTP_SERVER ';
const KEY = 'bench-key-0001';
const TARGETS = { inspectVsBare: 0.5, spawnAndWaitPerSecond: 1000 } as const;

const SECONDS = envInt('BENCH_HTTP_SECONDS', 5);
const WARMUP = envInt('BENCH_HTTP_WARMUP', 2);
const CONNECTIONS = envInt('BENCH_HTTP_CONNECTIONS', 16);
const ROUNDS = envInt('BENCH_HTTP_ROUNDS', 3);

type ServerName = 'bare' | 'symphainy';

interface ServerInfo {
  url: string;
  /** An actor to inspect (symphainy only). */
  actorId?: string;
  /** spawn + waitFor('done') called in-process, no HTTP, before serving (symphainy only). */
  inProcess?: { perSecond: number; p99Ms: number };
}

// ----- child: one server ----------------------------------------------------------------------

async function serveOne(name: ServerName): Promise<void> {
  const { serve } = await import('@hono/node-server');
  let fetchHandler: (req: Request) => Response | Promise<Response>;
  let info: Omit<ServerInfo, 'url'> = {};
  let cleanup = async () => {};
  if (name === 'bare') {
    const { Hono } = await import('hono');
    const app = new Hono();
    app.get('/bare', (c) => c.json({ id: 'exe_01', status: 'done', version: 3 }));
    fetchHandler = app.fetch;
  } else {
    const { tempDir } = await import('./lib/measure.js');
    const { createSqliteStores } = await import('../src/persistence/sqlite/index.js');
    const { createRuntime } = await import('../src/actors/index.js');
    const { createApp } = await import('../src/http/app.js');
    const { silentLogger } = await import('../src/logger.js');
    const dir = tempDir('http');
    const stores = createSqliteStores(dir.dir);
    const logger = silentLogger();
    const runtime = createRuntime({ stores, logger });
    await runtime.start();
    // The limiter runs (its cost is measured) with a budget no pass can spend.
    const app = createApp({ runtime, stores, logger, apiKeys: [{ key: KEY, tenantId: 'bench' }], localTenant: 'local', rateLimit: { perSecond: 1e9, burst: 1e9 } });
    const { id } = await runtime.spawn('execution', { intent: 'profile_text', params: { text: 'inspect me' } }, { tenantId: 'bench' });
    await runtime.waitFor(id, { tenantId: 'bench', until: 'done', timeoutMs: 10_000 });
    // The same work without HTTP, at the same concurrency, for a reference: what the edge adds.
    const { runPass } = await import('./lib/measure.js');
    const job = async () => {
      const spawned = await runtime.spawn('execution', { intent: 'profile_text', params: { text: 'hello world\nfrom the benchmark' } }, { tenantId: 'bench' });
      await runtime.waitFor(spawned.id, { tenantId: 'bench', until: 'done', timeoutMs: 30_000 });
    };
    await runPass(500, CONNECTIONS, job);
    const t0 = performance.now();
    let n = 0;
    const latencies: number[] = [];
    while (performance.now() - t0 < SECONDS * 1000) {
      const pass = await runPass(500, CONNECTIONS, job);
      n += pass.n;
      latencies.push(pass.p99Ms);
    }
    info = { actorId: id, inProcess: { perSecond: n / ((performance.now() - t0) / 1000), p99Ms: Math.max(...latencies) } };
    fetchHandler = app.fetch;
    cleanup = async () => {
      await runtime.close();
      await stores.close();
      dir.dispose();
    };
  }
  const server = serve({ fetch: fetchHandler, port: 0, hostname: '127.0.0.1' }, (addr) => {
    process.stdout.write(`${SERVER_PREFIX}${JSON.stringify({ url: `http://127.0.0.1:${addr.port}`, ...info })}\n`);
  });
  const stop = () => {
    server.close();
    void cleanup().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.stdin.on('end', stop).resume();
}

// ----- parent: load ---------------------------------------------------------------------------

function startChild(name: ServerName): Promise<{ child: ChildProcess; info: ServerInfo }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), `--serve=${name}`], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith(SERVER_PREFIX));
      if (line) resolve({ child, info: JSON.parse(line.slice(SERVER_PREFIX.length)) as ServerInfo });
    });
    child.on('exit', (code) => reject(new Error(`${name} server exited ${code}: ${err.trim().split('\n').slice(0, 6).join('\n')}`)));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.stdin?.end();
  });
}

interface Figures {
  name: string;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  bad: number;
  /** CPU time the server process spent per answered request (Linux `/proc`), or null. */
  serverCpuMs: number | null;
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU milliseconds (user + system) a process has used so far, from `/proc/<pid>/stat`; null
 * where there is no `/proc`. Unlike requests/s, CPU per request does not fall when other
 * processes take the cores, so it is the figure to compare on a shared machine.
 */
function cpuMsOf(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

async function load(name: string, server: ChildProcess, opts: { url: string; method?: 'GET' | 'POST'; body?: string; headers?: Record<string, string> }): Promise<Figures> {
  const base = { url: opts.url, connections: CONNECTIONS, method: opts.method ?? 'GET', headers: opts.headers ?? {}, ...(opts.body ? { body: opts.body } : {}) };
  await autocannon({ ...base, duration: WARMUP });
  const cpu0 = cpuMsOf(server.pid);
  const r = await autocannon({ ...base, duration: SECONDS });
  const cpu1 = cpuMsOf(server.pid);
  const ok = r['2xx'];
  return {
    name,
    perSecond: ok / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests: r.requests.total,
    bad: r.non2xx + r.errors + r.timeouts,
    serverCpuMs: cpu0 !== null && cpu1 !== null && ok > 0 ? (cpu1 - cpu0) / ok : null,
  };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}

const fmtRate = (x: number) => Math.round(x).toLocaleString('en-US');
const fmtMs = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));

async function main(): Promise<void> {
  const serveArg = process.argv.find((a) => a.startsWith('--serve='));
  if (serveArg) return serveOne(serveArg.slice('--serve='.length) as ServerName);

  const avg = loadavg()[0]!;
  console.log(`http benchmark: node ${process.version}, ${platform()}/${arch()}, ${cpus().length} CPUs, load average ${avg.toFixed(2)}`);
  if (avg > cpus().length / 2) console.log('warning: the machine is busy; absolute figures will be low and noisy, ratios less so');
  console.log(`autocannon on loopback: ${CONNECTIONS} connections, ${WARMUP} s warm-up then ${SECONDS} s measured per pass, ${ROUNDS} rounds; each server in its own process`);

  // Both servers stay up and the passes alternate (bare, inspect, spawn-and-wait) for ROUNDS
  // rounds: on a shared machine the load drifts, and a ratio taken within one round compares
  // passes that ran seconds apart. The verdicts use the median round.
  const sym = await startChild('symphainy');
  const bare = await startChild('bare');
  const auth = { authorization: `Bearer ${KEY}` };
  const rounds: { bare: Figures; inspect: Figures; spawnWait: Figures }[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const b = await load(`bare Hono GET #${round}`, bare.child, { url: `${bare.info.url}/bare` });
      const inspect = await load(`inspect GET /v1/actors/:id #${round}`, sym.child, { url: `${sym.info.url}/v1/actors/${sym.info.actorId}`, headers: auth });
      const spawnWait = await load(`spawn-and-wait POST /v1/intents #${round}`, sym.child, {
        url: `${sym.info.url}/v1/intents/profile_text?waitFor=done&timeoutMs=30000`,
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'hello world\nfrom the benchmark' }),
      });
      rounds.push({ bare: b, inspect, spawnWait });
    }
  } finally {
    await stopChild(bare.child);
    await stopChild(sym.child);
  }
  const results = rounds.flatMap((r) => [r.bare, r.inspect, r.spawnWait]);

  console.log(
    `\n${table([
      ['pass', 'req/s', 'p50 ms', 'p99 ms', 'requests', 'non-2xx/errors', 'server CPU ms/req'],
      ...results.map((r) => [
        r.name,
        fmtRate(r.perSecond),
        fmtMs(r.p50Ms),
        fmtMs(r.p99Ms),
        String(r.requests),
        String(r.bad),
        r.serverCpuMs === null ? 'n/a' : r.serverCpuMs.toFixed(3),
      ]),
    ])}`,
  );
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const inspectRatios = rounds.map((r) => r.inspect.perSecond / r.bare.perSecond);
  const inspectRatio = median(inspectRatios);
  const spawnPerSecond = median(rounds.map((r) => r.spawnWait.perSecond));
  const spawnRatio = median(rounds.map((r) => r.spawnWait.perSecond / r.bare.perSecond));
  const inProcess = sym.info.inProcess;
  if (inProcess) {
    console.log(
      `reference, no HTTP: runtime.spawn + waitFor('done') in the server process before the passes, ${CONNECTIONS} in flight: ${fmtRate(inProcess.perSecond)}/s (p99 ${fmtMs(inProcess.p99Ms)} ms); HTTP spawn-and-wait (median) reaches ${((spawnPerSecond / inProcess.perSecond) * 100).toFixed(0)}% of it`,
    );
  }
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const cpu = (pick: (r: (typeof rounds)[number]) => Figures) => {
    const xs = rounds.map((r) => pick(r).serverCpuMs).filter((x): x is number => x !== null);
    return xs.length > 0 ? median(xs) : null;
  };
  const [bareCpu, inspectCpu, spawnCpu] = [cpu((r) => r.bare), cpu((r) => r.inspect), cpu((r) => r.spawnWait)];
  if (bareCpu !== null && inspectCpu !== null && spawnCpu !== null) {
    console.log(
      `server CPU per request (median): bare ${bareCpu.toFixed(3)} ms, inspect ${inspectCpu.toFixed(3)} ms (CPU-bound ratio ${(bareCpu / inspectCpu).toFixed(2)}x), spawn-and-wait ${spawnCpu.toFixed(3)} ms (one dedicated core: about ${fmtRate(1000 / spawnCpu)} requests/s)`,
    );
  }
  console.log(`\ninspect / bare Hono per round: ${inspectRatios.map((x) => `${x.toFixed(2)}x`).join(', ')}`);
  console.log(`median ratios to bare Hono: inspect ${inspectRatio.toFixed(2)}x (target >= ${TARGETS.inspectVsBare}x: ${verdict(inspectRatio >= TARGETS.inspectVsBare)}), spawn-and-wait ${spawnRatio.toFixed(3)}x`);
  console.log(`spawn-and-wait (median): ${fmtRate(spawnPerSecond)} requests/s (target >= ${fmtRate(TARGETS.spawnAndWaitPerSecond)}: ${verdict(spawnPerSecond >= TARGETS.spawnAndWaitPerSecond)})`);
  console.log(
    `BENCH_HTTP_RESULT ${JSON.stringify({ results, inProcess, ratios: { inspectVsBare: inspectRatio, spawnAndWaitVsBare: spawnRatio }, spawnAndWaitPerSecond: spawnPerSecond, serverCpuMs: { bare: bareCpu, inspect: inspectCpu, spawnAndWait: spawnCpu } })}`,
  );
  if (results.some((r) => r.bad > 0)) {
    console.log('error: some requests failed; the figures are not comparable');
    process.exitCode = 1;
  }
}

await main();
