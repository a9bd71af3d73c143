/**
 * The canonical Contact: what every source maps into and every provider
 * client maps out of. It knows nothing of webhooks or AWS.
 */
import * as z from './zod.js';

export const SOURCES = [
  'shopify',
  'woocommerce',
  'typeform',
  'tally',
  'jotform',
  'webflow',
  'google-forms',
  'form',
] as const;
export const SourceNameSchema = z.enum(SOURCES);
export type SourceName = z.infer<typeof SourceNameSchema>;

export const E164Schema = z.string().check(z.regex(/^\+[1-9]\d{1,14}$/, 'must be an E.164 number such as +14155550123'));

export const PhoneSchema = z.object({
  e164: E164Schema,
  /** True when the source or route says the number has WhatsApp; unknown otherwise. */
  whatsapp: z.optional(z.boolean()),
});
export type Phone = z.infer<typeof PhoneSchema>;

/** A phone the payload carried that could not be made E.164 — kept so a skip can say why. */
export const RejectedPhoneSchema = z.object({
  input: z.string(),
  reason: z.string(),
});
export type RejectedPhone = z.infer<typeof RejectedPhoneSchema>;

export const AddressSchema = z.object({
  line1: z.optional(z.string()),
  line2: z.optional(z.string()),
  city: z.optional(z.string()),
  region: z.optional(z.string()),
  postalCode: z.optional(z.string()),
  countryCode: z.optional(z.string()),
});
export type Address = z.infer<typeof AddressSchema>;

export const OriginSchema = z.object({
  source: SourceNameSchema,
  route: z.string(),
  /** Stable id of the event at its sender; the dedupe key. */
  eventKey: z.string().check(z.minLength(1)),
  occurredAt: z.string(),
  /** Stable id of the person at the source (customer id, email, phone): the providers' `identifier`. */
  personKey: z.optional(z.string()),
});
export type Origin = z.infer<typeof OriginSchema>;

export const ContactSchema = z.object({
  firstName: z.optional(z.string()),
  lastName: z.optional(z.string()),
  emails: z.array(z.email()),
  phones: z.array(PhoneSchema),
  rejectedPhones: z.array(RejectedPhoneSchema),
  address: z.optional(AddressSchema),
  avatarUrl: z.optional(z.url()),
  tags: z.array(z.string()),
  attributes: z.record(z.string(), z.string()),
  consent: z.optional(
    z.object({
      email: z.optional(z.boolean()),
      sms: z.optional(z.boolean()),
    }),
  ),
  origin: OriginSchema,
});
export type Contact = z.infer<typeof ContactSchema>;

/** "Ada Lovelace", or the first name alone, or undefined. */
export function displayName(contact: Pick<Contact, 'firstName' | 'lastName'>): string | undefined {
  const name = [contact.firstName, contact.lastName].filter((part) => part !== undefined && part !== '').join(' ');
  return name === '' ? undefined : name;
}

/** A contact a provider can do something with: a name, an email or a valid phone. */
export function hasContactDetails(contact: Contact): boolean {
  return contact.emails.length > 0 || contact.phones.length > 0;
}
