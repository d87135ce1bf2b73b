/**
 * @module actors
 * The runtime's public surface.
 */
export { createRuntime } from './runtime.js';
export type { Runtime, RuntimeOptions, SpawnOptions, SendOptions, SendResult, WaitCondition } from './runtime.js';
export { createContractService } from './contracts.js';
export type { ContractService, NewContract } from './contracts.js';
export { publicView, stateOf, viewJson } from './view.js';
export type { ActorView, ActorState } from './view.js';
export type { AgentResponder } from './work.js';
export { SOLUTION_ID_RE, DEFAULT_SOLUTION } from './kinds.js';
