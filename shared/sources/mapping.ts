/**
 * What the sources' mappers share: blank checks, times, addresses, names,
 * how emails and phones are read and the skip reason — one place, so an
 * invalid email or phone is reported in the same words whichever source
 * sent it — and how a mapped contact becomes what ingest accepts.
 */
import { hasContactDetails, type Address, type Contact } from '../contact.js';
import type { ResolvedRoute } from '../config/routes.js';
import type { SourceReading } from '../ingest.js';
import { normalisePhone } from '../phone.js';
import * as z from '../zod.js';
import type { MappedContact } from './form.js';

export const present = (value: string | null | undefined): value is string =>
  typeof value === 'string' && value.trim() !== '';
export const trimmed = (value: string | null | undefined): string | undefined =>
  present(value) ? value.trim() : undefined;

/** A time as ISO 8601 in UTC; undefined when blank or not a date. */
export function isoTime(value: string | null | undefined): string | undefined {
  if (!present(value)) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

/** An order's total with its currency when it states one (`"19.99 EUR"`); undefined without a total. */
export function orderTotal(
  total: string | number | null | undefined,
  currency: string | null | undefined,
): string | undefined {
  const amount = trimmed(typeof total === 'number' ? String(total) : total);
  const code = trimmed(currency);
  return amount === undefined || code === undefined ? amount : `${amount} ${code}`;
}

/** The parts that are not blank, trimmed, the country code upper-cased; undefined when every part is blank. */
export function addressOf(parts: Record<keyof Address, string | null | undefined>): Address | undefined {
  const address: Address = {};
  for (const [key, value] of Object.entries(parts) as Array<[keyof Address, string | null | undefined]>) {
    const clean = trimmed(value);
    if (clean !== undefined) address[key] = key === 'countryCode' ? clean.toUpperCase() : clean;
  }
  return Object.keys(address).length > 0 ? address : undefined;
}

/** First and last name as given; else the full name split at its first space ("Ada King Lovelace" → "Ada", "King Lovelace"). */
export function nameParts(
  firstName: string | undefined,
  lastName: string | undefined,
  fullName?: string,
): Pick<Contact, 'firstName' | 'lastName'> {
  if (firstName === undefined && lastName === undefined && fullName !== undefined) {
    const [first, ...rest] = fullName.split(/\s+/);
    firstName = first;
    lastName = rest.length > 0 ? rest.join(' ') : undefined;
  }
  return { ...(firstName !== undefined ? { firstName } : {}), ...(lastName !== undefined ? { lastName } : {}) };
}

const EmailSchema = z.email();
export const isEmail = (text: string): boolean => EmailSchema.safeParse(text).success;

/**
 * The problem an invalid email is reported with. Problems name what is wrong,
 * never the value: they become skip reasons, which are logged, stored with
 * the outcome and sent back to the sender.
 */
export const NOT_AN_EMAIL = 'email is not a valid address';

/**
 * A contact's phones as they are read: each valid number once, as E.164
 * (marked WhatsApp when the route says its numbers are); each invalid one
 * kept with its reason, and the reason (never the number) added to
 * `problems`, so a skip can say why.
 * `read` says whether `input` was valid, read in `country`, else in the
 * route's default region.
 */
export function phoneReader(route: ResolvedRoute, problems: string[]) {
  const phones: Contact['phones'] = [];
  const rejectedPhones: Contact['rejectedPhones'] = [];
  const read = (input: string | number, country: string | undefined): boolean => {
    const result = normalisePhone(input, { country, defaultRegion: route.defaultRegion });
    if (result.ok) {
      if (!phones.some((phone) => phone.e164 === result.e164))
        phones.push({ e164: result.e164, ...(route.whatsappNumbers ? { whatsapp: true } : {}) });
      return true;
    }
    rejectedPhones.push({ input: String(input), reason: result.message });
    problems.push(result.message);
    return false;
  };
  return { phones, rejectedPhones, read };
}

export interface PhoneCandidate {
  input: string | null | undefined;
  /** The region the number is read in: the country of the address it sits on. */
  country: string | undefined;
}

export type Person = Pick<Contact, 'firstName' | 'lastName' | 'emails' | 'phones' | 'rejectedPhones' | 'address'>;

/** Where a shop's person may be found, each list in the order it is tried. */
export interface PersonCandidates {
  names: Array<{ first_name?: string | null | undefined; last_name?: string | null | undefined } | null | undefined>;
  emails: Array<string | null | undefined>;
  phones: PhoneCandidate[];
  addresses: Array<Address | undefined>;
}

/**
 * Names, email, phone and address of one person (a shop's order or
 * customer): the first valid email and the first valid phone; the invalid
 * ones before them are named in `problems`.
 */
export function mapPerson(candidates: PersonCandidates, route: ResolvedRoute): { person: Person; problems: string[] } {
  // Both names from one place, so one person's first name is never paired with another's surname.
  const named = candidates.names.find((who) => present(who?.first_name) || present(who?.last_name));

  const problems: string[] = [];
  const emails: string[] = [];
  for (const candidate of candidates.emails) {
    if (!present(candidate)) continue;
    const email = candidate.trim().toLowerCase();
    if (isEmail(email)) {
      emails.push(email);
      break;
    }
    problems.push(NOT_AN_EMAIL);
  }

  const { phones, rejectedPhones, read } = phoneReader(route, problems);
  for (const { input, country } of candidates.phones) {
    if (present(input) && read(input.trim(), country)) break;
  }

  const address = candidates.addresses.find((candidate) => candidate !== undefined);
  return {
    person: {
      ...nameParts(trimmed(named?.first_name), trimmed(named?.last_name)),
      emails,
      phones,
      rejectedPhones,
      ...(address !== undefined ? { address } : {}),
    },
    problems,
  };
}

/** A skip reason names this many problems and counts the rest, so 60,000 bad phones do not make a 2 MB answer. */
const PROBLEMS_NAMED = 10;

/** The contact, with a skip reason when it has no email and no valid phone: the problems met, else `nothingFound`. */
export function withSkipReason(contact: Contact, problems: string[], nothingFound: string): MappedContact {
  if (hasContactDetails(contact)) return { contact };
  const more = problems.length > PROBLEMS_NAMED ? `; and ${problems.length - PROBLEMS_NAMED} more` : '';
  const named = problems.length > 0 ? `${problems.slice(0, PROBLEMS_NAMED).join('; ')}${more}` : nothingFound;
  return { contact, skipReason: `no usable email or phone: ${named}` };
}

/**
 * A form-like submission's contact: what was read, with an origin whose person is its first email, else its
 * first phone; skipped with `nothingFound` (or the problems met) when it has neither.
 */
export function submittedContact(
  read: Pick<Contact, 'firstName' | 'lastName' | 'emails' | 'phones' | 'rejectedPhones' | 'tags' | 'attributes'>,
  origin: Pick<Contact['origin'], 'source' | 'route' | 'eventKey' | 'occurredAt'>,
  problems: string[],
  nothingFound: string,
): MappedContact {
  const personKey = read.emails[0] ?? read.phones[0]?.e164;
  const contact: Contact = { ...read, origin: { ...origin, ...(personKey !== undefined ? { personKey } : {}) } };
  return withSkipReason(contact, problems, nothingFound);
}

/** What ingest accepts for a mapped contact: delivered, or recorded as skipped with its reason. */
export function contactReading(eventKey: string, { contact, skipReason }: MappedContact): SourceReading {
  return { kind: 'contact', eventKey, contact, ...(skipReason !== undefined ? { skipReason } : {}) };
}
