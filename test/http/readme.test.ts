/**
 * Runs the README's `curl` example (spawn an intent, read its result, list with the CLI)
 * with bash against a started server, exactly as written but for the server's address.
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { startServer, type Server } from '../../src/main.js';
import { tempDir } from '../actors/helpers.js';

const run = promisify(execFile);
const README_BASE = 'http://127.0.0.1:8787';

let server: Server | null = null;
let dir = '';
afterEach(async () => {
  await server?.close();
  server = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The first fenced `sh` block of the README that calls curl. */
function curlExample(): string {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  const block = blocks.find((b) => b.includes('curl '));
  if (!block) throw new Error('README.md has no sh block with curl');
  return block;
}

describe('README', () => {
  it('runs the curl example: spawns an intent, reads its result, lists it with the CLI', async () => {
    dir = tempDir();
    server = await startServer(loadConfig({ PORT: '0', SYMPHAINY_DATA_DIR: dir, LOG_LEVEL: 'silent' }), silentLogger());
    const block = curlExample();
    expect(block).toContain(README_BASE);
    const script = block.split(README_BASE).join(server.url);
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: new URL('../..', import.meta.url).pathname,
      env: { ...process.env, SYMPHAINY_URL: server.url },
      timeout: 30_000,
    });
    const [viewLine, artifactsLine, ...cli] = stdout.split('\n');
    const view = JSON.parse(viewLine ?? '') as { id: string; status: string; output: { artifacts: { id: string; kind: string }[] } };
    expect(view.status).toBe('done');
    const page = JSON.parse(artifactsLine ?? '') as { items: { id: string; body: { lines: number; words: number }; lineage: { actorId: string } }[] };
    expect(page.items).toHaveLength(1);
    expect(page.items[0]?.id).toBe(view.output.artifacts[0]?.id);
    expect(page.items[0]?.body).toMatchObject({ lines: 2, words: 2 });
    expect(page.items[0]?.lineage.actorId).toBe(view.id);
    expect(cli.join('\n')).toContain(view.id);
  }, 60_000);
});

describe('README error table', () => {
  it('lists every problem code with the status the edge answers', async () => {
    const { ProblemTitles } = await import('../../src/errors.js');
    const { PROBLEM_STATUS } = await import('../../src/http/problem.js');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const rows = new Map([...readme.matchAll(/^\| `([a-z-]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]));
    for (const code of Object.keys(ProblemTitles) as (keyof typeof PROBLEM_STATUS)[]) {
      expect(rows.get(code), code).toBe(PROBLEM_STATUS[code]);
    }
  });
});
