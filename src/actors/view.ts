/**
 * @module actors/view
 * The actor view every client sees (DESIGN.md section 8).
 */
import type { Problem } from '../errors.js';
import type { ActorRecord, ActorStatus } from '../persistence/ports.js';

export interface ActorView {
  id: string;
  kind: string;
  tenantId: string;
  status: ActorStatus;
  value: unknown;
  tags: string[];
  contractId: string | null;
  machineId: string;
  machineVersion: number;
  output?: unknown;
  /** A running long intent's last reported progress `{ phase, done, total }`. */
  progress?: unknown;
  error?: Problem;
  /** The stored snapshot version; grows by one on every commit. */
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** A view plus the mailbox mark, as the hub carries it. */
export interface ActorState extends ActorView {
  appliedSeq: number;
}

export function stateOf(r: ActorRecord): ActorState {
  const view: ActorState = {
    id: r.id,
    kind: r.kind,
    tenantId: r.tenantId,
    status: r.status,
    value: r.value,
    tags: r.tags,
    contractId: r.contractId,
    machineId: r.machineId,
    machineVersion: r.machineVersion,
    version: r.version,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    appliedSeq: r.appliedSeq,
  };
  setOutput(view, r.output);
  if (r.error) view.error = r.error;
  return view;
}

const serialized = new WeakMap<ActorView, string>();

/**
 * The view as JSON. A frozen view (the runtime freezes the views of final actors, which never
 * change again) is serialized once and the text reused; any other is serialized each time.
 */
export function viewJson(view: ActorView): string {
  if (!Object.isFrozen(view)) return JSON.stringify(view);
  let json = serialized.get(view);
  if (json === undefined) serialized.set(view, (json = JSON.stringify(view)));
  return json;
}

/** The public view: the state without internal marks. */
export function publicView(s: ActorState): ActorView {
  const { appliedSeq: _applied, ...view } = s;
  return view;
}

/**
 * Sets `output`, or `progress` for an actor that is not final: while it runs, the stored
 * output slot carries the progress its intent last reported (`{ progress }`).
 */
export function setOutput(view: ActorView, output: unknown): void {
  if (output === null || output === undefined) return;
  if (view.status === 'running' || view.status === 'waiting') {
    const progress = (output as { progress?: unknown }).progress;
    if (progress !== undefined) view.progress = progress;
    return;
  }
  view.output = output;
}
