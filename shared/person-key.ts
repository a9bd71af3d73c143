/**
 * The person index's keys: an email or phone as a keyed hash, so the table can be searched by them without
 * holding them. A plain SHA-256 of an email or phone is reversed by hashing every likely value (phone numbers
 * are few enough to enumerate); an HMAC with a key kept in Secrets Manager is not, without the key.
 * HMAC: https://datatracker.ietf.org/doc/html/rfc2104; Node's createHmac:
 * https://nodejs.org/api/crypto.html#cryptocreatehmacalgorithm-key-options
 *
 * One key per stage, `contact-relay/{stage}/lookup-key` = `{"key": "<at least 32 characters>"}`. Changing it
 * orphans the index written before (those events are found by event key only until they expire).
 */
import { createHmac } from 'node:crypto';
import type { Contact } from './contact.js';
import { SecretUnusableError, type SecretStore } from './secrets.js';
import * as z from './zod.js';

/** 32 characters of a random string carry at least the 128 bits that keep a guess of the key out of reach. */
export const MIN_LOOKUP_KEY_LENGTH = 32;

export const LookupKeySchema = z.object({
  key: z.string().check(z.minLength(MIN_LOOKUP_KEY_LENGTH, `must be at least ${MIN_LOOKUP_KEY_LENGTH} characters`)),
});
export type LookupKey = z.infer<typeof LookupKeySchema>;

/** `contact-relay/{stage}/lookup-key` */
export function lookupKeySecretName(stage: string): string {
  return `contact-relay/${stage}/lookup-key`;
}

const hmac = (key: string, text: string) => createHmac('sha256', key).update(text, 'utf8').digest('hex');

/** An email's hash: the same for any case or surrounding spaces, as providers match emails. */
export function emailHash(key: string, email: string): string {
  return hmac(key, `email:${email.trim().toLowerCase()}`);
}

/** A phone's hash, from its E.164 form (`+14155550123`): the one form every source's number is read into. */
export function phoneHash(key: string, e164: string): string {
  return hmac(key, `phone:${e164}`);
}

/** One hash per distinct email and phone of the contact: the person index items of its event. */
export function personHashes(key: string, contact: Pick<Contact, 'emails' | 'phones'>): string[] {
  const hashes = [
    ...contact.emails.map((email) => emailHash(key, email)),
    ...contact.phones.map((phone) => phoneHash(key, phone.e164)),
  ];
  return [...new Set(hashes)];
}

/**
 * The stage's lookup key through the secrets cache. A missing or malformed key is remembered for `ttlMs`
 * too: the cache keeps no failed read, and without this every accept would call Secrets Manager again (and
 * log it) until the key is created.
 */
export function lookupKeyReader(
  secrets: Pick<SecretStore, 'get'>,
  name: string,
  ttlMs: number,
  now: () => number = Date.now,
): () => Promise<string> {
  let unusable: { error: SecretUnusableError; until: number } | undefined;
  return async () => {
    if (unusable !== undefined && now() < unusable.until) throw unusable.error;
    try {
      return (await secrets.get(name, LookupKeySchema)).key;
    } catch (error) {
      if (error instanceof SecretUnusableError) unusable = { error, until: now() + ttlMs };
      throw error;
    }
  };
}
