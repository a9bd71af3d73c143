/**
 * A delivery job: what ingest puts on the queue and `deliver` takes off it.
 * The contact travels whole, so delivery never re-reads the webhook; the
 * route is named, not copied, so a job follows the current route config.
 */
import { ContactSchema, SourceNameSchema, type Contact } from './contact.js';
import type { ResolvedRoute } from './config/routes.js';
import * as z from './zod.js';
import { describeIssues } from './validation.js';

export const DeliveryJobSchema = z.object({
  v: z.literal(1),
  eventKey: z.string().check(z.minLength(1)),
  source: SourceNameSchema,
  route: z.string().check(z.minLength(1)),
  contact: ContactSchema,
  acceptedAt: z.string(),
});
export type DeliveryJob = z.infer<typeof DeliveryJobSchema>;

export class InvalidJobError extends Error {
  override name = 'InvalidJobError';
}

export function toDeliveryJob(contact: Contact, route: ResolvedRoute, eventKey: string, now: Date): DeliveryJob {
  return { v: 1, eventKey, source: route.source, route: route.name, contact, acceptedAt: now.toISOString() };
}

export function parseDeliveryJob(body: string): DeliveryJob {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    throw new InvalidJobError('delivery job is not JSON');
  }
  const parsed = DeliveryJobSchema.safeParse(raw);
  if (!parsed.success) throw new InvalidJobError(`delivery job is malformed: ${describeIssues(parsed.error)}`);
  return parsed.data;
}
