/**
 * @module cli/offline
 * Offline verbs (`ingest`, `sop`, `workflow`, `coexistence`) run an intent through a real
 * runtime on the embedded store and print its artifacts. They use a private temporary store
 * unless `--data-dir` is given, so they never rehydrate or lease a running server's actors.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createRuntime, type ActorView, type Runtime } from '../actors/index.js';
import { LOCAL_TENANT } from '../config.js';
import { newId } from '../ids.js';
import { silentLogger } from '../logger.js';
import type { Artifact, BlobInfo, Stores } from '../persistence/ports.js';
import { createSqliteStores } from '../persistence/sqlite/index.js';
import { CliError } from './command.js';

export interface OfflineSession {
  readonly runtime: Runtime;
  readonly stores: Stores;
  readonly tenantId: string;
}

/**
 * Opens a runtime on `dataDir` (or a fresh temporary directory, removed afterwards), runs
 * `body`, and closes everything whatever `body` does.
 */
export async function withOfflineRuntime<T>(dataDir: string | undefined, body: (session: OfflineSession) => Promise<T>): Promise<T> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'symphainy-cli-')));
  const stores = createSqliteStores(dir);
  const runtime = createRuntime({ stores, logger: silentLogger() });
  try {
    await runtime.start();
    return await body({ runtime, stores, tenantId: LOCAL_TENANT });
  } finally {
    await runtime.close();
    await stores.close();
    if (!dataDir) await rm(dir, { recursive: true, force: true });
  }
}

/** Streams a local file into the blob store; its id is the `fileId` intents take. */
export async function putLocalFile(session: OfflineSession, path: string, options: { mediaType?: string; maxBytes?: number } = {}): Promise<BlobInfo> {
  let size: number;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new CliError(`${path} is not a file`);
    size = s.size;
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return session.stores.blobs.write(
    session.tenantId,
    { id: newId('fil'), name: basename(path), mediaType: options.mediaType ?? 'application/octet-stream', maxBytes: options.maxBytes ?? Math.max(size, 1) },
    createReadStream(path),
  );
}

export interface OfflineResult {
  view: ActorView;
  artifacts: Artifact[];
}

/**
 * Spawns an execution of `intent`, waits until it is final and returns its artifacts. A
 * failed or rejected execution becomes a {@link CliError} carrying the problem's detail.
 */
export async function runIntentOffline(
  session: OfflineSession,
  intent: string,
  params: unknown,
  options: { timeoutMs?: number; onProgress?: (progress: { phase: string; done: number; total: number | null }) => void } = {},
): Promise<OfflineResult> {
  const { runtime, stores, tenantId } = session;
  const { id } = await runtime.spawn('execution', { intent, params }, { tenantId });
  const onProgress = options.onProgress;
  const timer = onProgress
    ? setInterval(() => {
        runtime.inspect(id, { tenantId }).then(
          (v) => {
            if (v.progress) onProgress(v.progress as { phase: string; done: number; total: number | null });
          },
          () => undefined,
        );
      }, 500)
    : null;
  let view: ActorView;
  try {
    view = await runtime.waitFor(id, { tenantId, until: 'done', timeoutMs: options.timeoutMs ?? 3_600_000 });
  } finally {
    if (timer) clearInterval(timer);
  }
  if (view.status !== 'done') {
    const detail = view.error ? `${view.error.code}: ${view.error.detail || view.error.title}` : view.status;
    throw new CliError(detail.split('\n')[0] ?? view.status);
  }
  const refs = ((view.output as { artifacts?: { id: string }[] } | undefined)?.artifacts ?? []).map((a) => a.id);
  const artifacts: Artifact[] = [];
  for (const ref of refs) {
    const a = await stores.artifacts.get(tenantId, ref);
    if (a) artifacts.push(a);
  }
  return { view, artifacts };
}
