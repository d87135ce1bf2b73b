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
  if (r.output !== null && r.output !== undefined) view.output = r.output;
  if (r.error) view.error = r.error;
  return view;
}

/** The public view: the state without internal marks. */
export function publicView(s: ActorState): ActorView {
  const { appliedSeq: _applied, ...view } = s;
  return view;
}
