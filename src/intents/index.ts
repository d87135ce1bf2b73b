/**
 * @module intents
 * The registered intents of the product.
 */
import { profileTextIntent } from './content.js';
import { createIntentRegistry, type IntentDefinition, type IntentRegistry } from './registry.js';

export function defaultIntents(): IntentDefinition<never>[] {
  return [profileTextIntent as IntentDefinition<never>];
}

export function createDefaultIntentRegistry(): IntentRegistry {
  return createIntentRegistry(defaultIntents());
}

export { createIntentRegistry, paramsInvalid } from './registry.js';
export type { IntentContext, IntentDefinition, BulkIntentDefinition, IntentRegistry } from './registry.js';
