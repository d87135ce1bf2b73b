/**
 * Shared fixtures for runtime tests: a fresh embedded store per test, removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../src/actors/index.js';
import { silentLogger } from '../../src/logger.js';
import { createSqliteStores } from '../../src/persistence/sqlite/index.js';
import type { Stores } from '../../src/persistence/ports.js';

export interface Harness {
  dir: string;
  stores: Stores;
  runtime: Runtime;
  /** Opens another runtime (a "restarted process") on the same store. */
  reopen(options?: Partial<RuntimeOptions>): Promise<Runtime>;
  cleanup(): Promise<void>;
}

export function tempDir(prefix = 'symphainy-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function harness(options: Partial<RuntimeOptions> = {}): Promise<Harness> {
  const dir = tempDir();
  const opened: { stores: Stores; runtime: Runtime }[] = [];
  const open = async (extra: Partial<RuntimeOptions>) => {
    const stores = createSqliteStores(dir);
    const runtime = createRuntime({ stores, logger: silentLogger(), pollMs: 20, ...options, ...extra });
    await runtime.start();
    opened.push({ stores, runtime });
    return { stores, runtime };
  };
  const first = await open({});
  return {
    dir,
    stores: first.stores,
    runtime: first.runtime,
    async reopen(extra = {}) {
      return (await open(extra)).runtime;
    },
    async cleanup() {
      for (const o of opened.reverse()) {
        await o.runtime.close();
        await o.stores.close();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function tenant(): string {
  return `t-${Math.random().toString(36).slice(2, 10)}`;
}
