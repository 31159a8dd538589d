// The resource processor's settings: the attributes processor's actions, applied to resources.
import { z } from 'zod';
import { actionSchema } from '../attributes/config.ts';

export const configSchema = z.strictObject({
  /** Applied in order to the resource of every batch part (insert, update, upsert, delete, hash). */
  attributes: z.array(actionSchema, { error: 'expected a list of actions' }).default([]),
});

/** An empty action list does nothing, so, as in the Collector, it is a config error (checked after defaults). */
export function validate(config: { attributes: unknown[] }): string[] {
  return config.attributes.length === 0 ? ['attributes: expected at least one action'] : [];
}

export type ResourceConfig = z.infer<typeof configSchema>;
