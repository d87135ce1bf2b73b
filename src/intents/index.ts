/**
 * @module intents
 * The registered intents of the product.
 */
import { profileTextIntent } from './content.js';
import { contentFileIntents } from './contentIngest.js';
import { createWorkflowIntent } from './journeyWrite.js';
import { journeyReadIntents } from './journey.js';
import { createIntentRegistry, type IntentDefinition, type IntentRegistry } from './registry.js';

export function defaultIntents(): IntentDefinition<never>[] {
  return [
    profileTextIntent as IntentDefinition<never>,
    ...(contentFileIntents as IntentDefinition<never>[]),
    createWorkflowIntent as IntentDefinition<never>,
    ...journeyReadIntents.map((d) => d as IntentDefinition<never>),
  ];
}

export function createDefaultIntentRegistry(): IntentRegistry {
  return createIntentRegistry(defaultIntents());
}

export { createIntentRegistry, paramsInvalid } from './registry.js';
export type { IntentContext, IntentDefinition, BulkIntentDefinition, IntentRegistry } from './registry.js';
