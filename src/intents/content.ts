/**
 * @module intents/content
 * Content-realm intents.
 */
import { z } from 'zod';
import { profileText } from '../realms/content/profileText.js';
import type { IntentDefinition } from './registry.js';

const ProfileTextParams = z
  .object({
    /** The text to profile (at most 1 MiB of characters; larger inputs are uploads). */
    text: z.string().max(1024 * 1024),
  })
  .strict();

/** `profile_text`: counts lines, words and characters of a text; artifact `textProfile`. */
export const profileTextIntent: IntentDefinition<z.infer<typeof ProfileTextParams>> = {
  type: 'profile_text',
  realm: 'content',
  mode: 'short',
  description: 'Counts lines, words and characters of a text and stores the profile as an artifact.',
  params: ProfileTextParams,
  async handler(ctx, params, contract) {
    const profile = profileText(params.text, contract);
    return [await ctx.emit('textProfile', profile)];
  },
};
