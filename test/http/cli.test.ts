/**
 * The remote verbs of `symphainy` against a started server, run as a user runs them
 * (`node bin/symphainy.js …`): human output by default, one JSON line with `--json`, and
 * exit codes that follow the problem type.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodeOf, stateText, table } from '../../src/cli/remote.js';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { startServer, type Server } from '../../src/main.js';
import { tempDir } from '../actors/helpers.js';

const KEY = 'cli-test-key-0001';
let server: Server;
let dir: string;

beforeAll(async () => {
  dir = tempDir();
  server = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', SYMPHAINY_DATA_DIR: dir, LOG_LEVEL: 'silent', SYMPHAINY_API_KEYS: `${KEY}:alpha` }), silentLogger());
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/symphainy.js', ...args],
      { cwd: new URL('../..', import.meta.url).pathname, env: { ...process.env, SYMPHAINY_URL: server.url, SYMPHAINY_API_KEY: KEY }, timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('symphainy remote verbs', () => {
  it('runs an intent with a human summary, then lists and inspects it', async () => {
    const run = await cli('run', 'profile_text', '{"text":"one two"}');
    expect(run.code).toBe(0);
    const [head] = run.stdout.split('\n');
    const id = head?.split(/\s+/)[0] ?? '';
    expect(head).toMatch(/^exe_\S+ {2}execution {2}done$/);
    expect(run.stdout).toMatch(/artifacts\n {4}art_\S+ {2}textProfile/);
    const ls = await cli('ls');
    expect(ls.code).toBe(0);
    expect(ls.stdout.split('\n')[0]).toMatch(/^ID +KIND +STATUS +STATE +UPDATED$/);
    expect(ls.stdout).toContain(id);
    const json = await cli('inspect', id, '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ id, status: 'done', tenantId: 'alpha' });
    expect(json.stdout.trim().split('\n')).toHaveLength(1);
  }, 60_000);

  it('exits by problem type: 3 not found, 4 invalid, 5 refused, 6 timeout', async () => {
    const missing = await cli('inspect', 'exe_nope');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^symphainy: 404 not-found: /);
    const invalid = await cli('run', 'profile_text', '{"text":1}');
    expect(invalid.code).toBe(4);
    expect(invalid.stderr).toContain('params-invalid');
    const refused = await cli('ls', '--key', 'not-the-key-at-all');
    expect(refused.code).toBe(5);
    const spawned = await cli('spawn', 'agentSession', '--json');
    const { id } = JSON.parse(spawned.stdout) as { id: string };
    const timeout = await cli('send', id, '{"type":"MESSAGE","text":"hi"}', '--wait', 'done', '--timeout', '20');
    expect(timeout.code).toBe(6);
    expect(timeout.stderr).toContain('wait-timeout');
    const usage = await cli('inspect');
    expect(usage.code).toBe(2);
  }, 60_000);

  it('maps problem types and formats state values and tables', () => {
    expect(['not-found', 'params-invalid', 'contract-denied', 'wait-timeout', 'internal', undefined].map(exitCodeOf)).toEqual([3, 4, 5, 6, 1, 1]);
    expect(stateText({ working: { parsing: 'rows' } })).toBe('working.parsing.rows');
    expect(stateText('idle')).toBe('idle');
    expect(table(['A', 'LONG'], [['xyz', '1']])).toBe('A    LONG\nxyz  1');
  });
});
