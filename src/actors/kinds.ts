/**
 * @module actors/kinds
 * What each actor kind is spawned with. The spawn input is validated here, before anything is
 * stored (unknown intent, invalid parameters, bad solution id), and kept in the actor record;
 * the machine's input is rebuilt from the record, so it holds ids only.
 */
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { IntentRegistry } from '../intents/index.js';
import { paramsInvalid } from '../intents/index.js';
import type { ActorKind } from '../machines/index.js';
import type { Realm } from '../machines/index.js';

export const SOLUTION_ID_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const DEFAULT_SOLUTION = 'default';

const Common = {
  solutionId: z.string().regex(SOLUTION_ID_RE, 'must match ^[a-z0-9][a-z0-9_-]{0,63}$').optional(),
  contractId: z.string().min(1).max(200).optional(),
};

const IntentSpawn = z
  .object({ intent: z.string().min(1).max(100), params: z.unknown().optional(), ...Common })
  .strict();

const AgentSpawn = z
  .object({ idleTimeoutMs: z.number().int().min(1000).max(30 * 86_400_000).optional(), ...Common })
  .strict();

/** The normalised spawn input kept in the actor record (`ActorRecord.input`). */
export type SpawnInput =
  | { kind: 'execution' | 'bulkOperation'; intent: string; realm: Realm; params: unknown; solutionId: string; contractId: string | null }
  | { kind: 'agentSession'; solutionId: string; contractId: string | null; idleTimeoutMs: number | null };

export const ID_PREFIX: Readonly<Record<ActorKind, string>> = {
  execution: 'exe',
  agentSession: 'ags',
  bulkOperation: 'blk',
};

function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) throw paramsInvalid(parsed.error, 'Spawn input', 'input');
  return parsed.data;
}

/** Validates a spawn request of `kind`; throws `intent-unknown` or `params-invalid`. */
export function normalizeSpawn(kind: ActorKind, input: unknown, intents: IntentRegistry): SpawnInput {
  if (kind === 'agentSession') {
    const a = parseOrThrow(AgentSpawn, input);
    return {
      kind,
      solutionId: a.solutionId ?? DEFAULT_SOLUTION,
      contractId: a.contractId ?? null,
      idleTimeoutMs: a.idleTimeoutMs ?? null,
    };
  }
  const i = parseOrThrow(IntentSpawn, input);
  const bulk = kind === 'bulkOperation';
  const def = bulk ? intents.getBulk(i.intent) : intents.get(i.intent);
  const params = intents.validate(i.intent, i.params, bulk);
  return {
    kind,
    intent: i.intent,
    realm: def.realm,
    params,
    solutionId: i.solutionId ?? DEFAULT_SOLUTION,
    contractId: i.contractId ?? null,
  };
}

/** The machine input of an actor, rebuilt from its record: ids and settings only. */
export function machineInputOf(actorId: string, tenantId: string, spawn: SpawnInput): Record<string, unknown> {
  if (spawn.kind === 'agentSession') {
    const input: Record<string, unknown> = { actorId, tenantId, solutionId: spawn.solutionId, contractId: spawn.contractId };
    if (spawn.idleTimeoutMs !== null) input.idleTimeoutMs = spawn.idleTimeoutMs;
    return input;
  }
  return {
    actorId,
    tenantId,
    realm: spawn.realm,
    intent: spawn.intent,
    solutionId: spawn.solutionId,
    contractId: spawn.contractId,
  };
}

/** Reads back a stored spawn input; a record written by other code is refused, not guessed. */
export function storedSpawn(kind: string, input: unknown): SpawnInput {
  if (typeof input !== 'object' || input === null || (input as { kind?: unknown }).kind !== kind) {
    throw new AppError('internal', `Actor record of kind ${kind} has no spawn input`);
  }
  return input as SpawnInput;
}
