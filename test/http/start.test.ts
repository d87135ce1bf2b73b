import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../actors/helpers.js';

let child: ChildProcess | null = null;
let dir = '';
afterEach(() => {
  // npm runs the server in a child of its own: end the whole process group.
  if (child?.pid && child.exitCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  child = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Starts the server exactly as `npm start` does and resolves with its URL from the log. */
function startAsNpmStart(env: Record<string, string>): Promise<string> {
  child = spawn('npm', ['start', '--silent'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const proc = child;
  return new Promise((resolve, reject) => {
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.once('exit', (code) => reject(new Error(`npm start exited ${code}: ${stderr}`)));
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const log = JSON.parse(line) as { msg?: string; url?: string };
        if (log.msg === 'symphainy serving' && log.url) resolve(log.url);
      } catch {
        // npm's own banner lines are not JSON.
      }
    });
  });
}

describe('npm start', () => {
  it('serves the embedded store and drives one intent over HTTP to done', async () => {
    dir = tempDir();
    const url = await startAsNpmStart({ PORT: '0', SYMPHAINY_DATA_DIR: dir, LOG_LEVEL: 'info' });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const res = await fetch(`${url}/v1/intents/profile_text?waitFor=done&timeoutMs=10000`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'data stays\nat the door' }),
    });
    expect(res.status).toBe(200);
    const view = (await res.json()) as { status: string; tenantId: string; output: { artifacts: { id: string; kind: string }[] } };
    expect(view.status).toBe('done');
    expect(view.tenantId).toBe('local');
    const art = await fetch(`${url}/v1/artifacts/${view.output.artifacts[0]?.id}`);
    expect(((await art.json()) as { body: { lines: number; words: number } }).body).toMatchObject({ lines: 2, words: 5 });
  }, 30_000);

  it('refuses to listen beyond loopback without API keys', async () => {
    dir = tempDir();
    await expect(startAsNpmStart({ PORT: '0', SYMPHAINY_DATA_DIR: dir, HOST: '0.0.0.0' })).rejects.toThrow(/loopback/);
  }, 30_000);
});
