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
  'meta-leads',
  'calendly',
  'custom',
] as const;
export const SourceNameSchema = z.enum(SOURCES);
export type SourceName = z.infer<typeof SourceNameSchema>;

const E164Schema = z.string().check(z.regex(/^\+[1-9]\d{1,14}$/, 'must be an E.164 number such as +14155550123'));

const PhoneSchema = z.object({
  e164: E164Schema,
  /** True when the source or route says the number has WhatsApp; unknown otherwise. */
  whatsapp: z.optional(z.boolean()),
});
export type Phone = z.infer<typeof PhoneSchema>;

/** A phone the payload carried that could not be made E.164 — kept so a skip can say why. */
const RejectedPhoneSchema = z.object({
  input: z.string(),
  reason: z.string(),
});

const AddressSchema = z.object({
  line1: z.optional(z.string()),
  line2: z.optional(z.string()),
  city: z.optional(z.string()),
  region: z.optional(z.string()),
  postalCode: z.optional(z.string()),
  countryCode: z.optional(z.string()),
});
export type Address = z.infer<typeof AddressSchema>;

const OriginSchema = z.object({
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

/*
 * What a contact may hold. Every contact is fitted to these limits before it
 * is queued (`fitContact`, called when the delivery job is built), so every
 * source, transport and reconcile gets them, and a job stays far below the
 * queue's size limit whatever a payload repeats.
 */

/** A person has a handful of addresses; 2Chat is the only provider that takes more than the first. */
export const MAX_EMAILS = 10;
/** As for emails: more than ten numbers is not one person's, and only 2Chat takes more than one. */
export const MAX_PHONES = 10;
/** Rejected phones only explain a skip, and those reasons name the problem, never the number. */
export const MAX_REJECTED_PHONES = 10;
/** A rejected input is kept to this many characters: more than any number written with spaces and an extension. */
export const MAX_REJECTED_INPUT_LENGTH = 64;
/** The source's tag and the route's come first, so they are the ones kept. */
export const MAX_TAGS = 20;
/**
 * Assumption: no provider documents a tag length; a longer "tag" is a
 * sentence pasted into a tags field, and is dropped.
 */
const MAX_TAG_LENGTH = 100;
/** Attributes are the fields a route names; more than this is a configuration that names everything. */
export const MAX_ATTRIBUTES = 50;
/** Assumption: no provider documents a limit for a custom value; a longer one is cut, and ends with "…". */
export const MAX_ATTRIBUTE_LENGTH = 1000;

/** A lone surrogate is half of a character, not text: no UTF-8 encoder can write it. */
const LONE_SURROGATE = /\p{Cs}/gu;
/** Control characters other than tab, LF and CR, and noncharacters: invisible, no text. */
const INVISIBLE = /(?![\t\n\r])\p{Cc}|\p{Noncharacter_Code_Point}/gu;

/**
 * Text as a provider should get it. Control characters (except tab, LF and
 * CR) and noncharacters (U+FFFF, U+FDD0…) show nothing and mean nothing
 * outside the program that made them, so they are removed: "Ada\u{FFFF}"
 * becomes "Ada", as the person typed it. A lone surrogate is a character cut
 * in half; it becomes U+FFFD, the replacement character that any UTF-8
 * encoder would write for it, so the text still shows that something was
 * there. These are also all the characters SQS refuses in a message body
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html),
 * so a cleaned contact can always be queued.
 */
export function cleanText(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD').replace(INVISIBLE, '');
}

/** At most `max` characters (code points, so a pair is never split); a cut text ends with "…". */
function cut(text: string, max: number): string {
  const characters = [...text];
  return characters.length <= max ? text : `${characters.slice(0, max - 1).join('')}…`;
}

/** Cleaned, and undefined when nothing is left. */
function cleanOptional(text: string | undefined): string | undefined {
  const clean = text === undefined ? undefined : cleanText(text);
  return clean === '' ? undefined : clean;
}

const isTag = (tag: string) => tag !== '' && [...tag].length <= MAX_TAG_LENGTH;

/**
 * The contact with its text cleaned (`cleanText`) and its lists capped at
 * the limits above, keeping the first entries. The origin's event key is
 * left exactly as the sender gave it: it is the dedupe key.
 */
export function fitContact(contact: Contact): Contact {
  const { firstName, lastName, address, avatarUrl, consent, origin } = contact;
  const attributes = Object.entries(contact.attributes)
    .map(([name, value]) => [cleanText(name), cut(cleanText(value), MAX_ATTRIBUTE_LENGTH)] as const)
    .filter(([name]) => name !== '');
  const fitted: Contact = {
    // Emails and E.164 numbers were checked against ASCII patterns: nothing to clean.
    emails: contact.emails.slice(0, MAX_EMAILS),
    phones: contact.phones.slice(0, MAX_PHONES),
    rejectedPhones: contact.rejectedPhones.slice(0, MAX_REJECTED_PHONES).map(({ input, reason }) => ({
      input: cut(cleanText(input), MAX_REJECTED_INPUT_LENGTH),
      reason: cleanText(reason),
    })),
    tags: [...new Set(contact.tags.map(cleanText))].filter(isTag).slice(0, MAX_TAGS),
    attributes: Object.fromEntries(attributes.slice(0, MAX_ATTRIBUTES)),
    origin: {
      ...origin,
      route: cleanText(origin.route),
      occurredAt: cleanText(origin.occurredAt),
      ...(origin.personKey !== undefined ? { personKey: cleanText(origin.personKey) } : {}),
    },
  };
  const first = cleanOptional(firstName);
  const last = cleanOptional(lastName);
  if (first !== undefined) fitted.firstName = first;
  if (last !== undefined) fitted.lastName = last;
  if (address !== undefined) {
    const parts = Object.entries(address)
      .map(([key, value]) => [key, cleanOptional(value)] as const)
      .filter(([, value]) => value !== undefined);
    if (parts.length > 0) fitted.address = Object.fromEntries(parts) as Address;
  }
  if (avatarUrl !== undefined) fitted.avatarUrl = cleanText(avatarUrl);
  if (consent !== undefined) fitted.consent = consent;
  return fitted;
}
