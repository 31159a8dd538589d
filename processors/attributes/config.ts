import { z } from 'zod';

const scalar = z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string, number or boolean' });

export const actionSchema = z
  .strictObject({
    /** The attribute acted on. */
    key: z.string({ error: 'expected an attribute key' }).min(1, 'expected a non-empty attribute key'),
    /** insert: only when absent; update: only when present; upsert: always; delete; hash: SHA-256 of the value. */
    action: z.enum(['insert', 'update', 'upsert', 'delete', 'hash']),
    /** The value to set (insert, update, upsert). */
    value: scalar.optional(),
    /** Copy the value of this attribute instead of `value`. */
    from_attribute: z.string().optional(),
  })
  .superRefine((a, ctx) => {
    const sets = a.action === 'insert' || a.action === 'update' || a.action === 'upsert';
    if (sets && a.value === undefined && a.from_attribute === undefined) {
      ctx.addIssue({ code: 'custom', message: `action "${a.action}" needs value or from_attribute` });
    }
    if (sets && a.value !== undefined && a.from_attribute !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'give value or from_attribute, not both' });
    }
  });

export const configSchema = z.strictObject({
  /** Applied in order to every span, log record, metric data point and profile sample. */
  actions: z.array(actionSchema).min(1, 'expected at least one action').default([]),
});

export type AttributesConfig = z.infer<typeof configSchema>;
export type AttributeAction = z.infer<typeof actionSchema>;
