/**
 * The `custom` source's route options: any JSON webhook, read by JSON
 * Pointer (RFC 6901, https://www.rfc-editor.org/rfc/rfc6901) and checked as
 * the route says (a signature, a token, or nothing with a form's protection).
 */
import * as z from '../zod.js';

/** `""` (the whole document) or `/a/b`, where `~` is only ever `~0` or `~1`. */
const POINTER = /^(\/([^~]|~[01])*)*$/;
const JsonPointerSchema = z
  .string()
  .check(
    z.regex(
      POINTER,
      'must be a JSON pointer such as "/contact/mobile" (RFC 6901: starts with "/", "~" written "~0", "/" inside a name "~1")',
    ),
  );

/** One pointer, or several tried in order (the first that holds a value wins). */
const Pointers = z.union([JsonPointerSchema, z.array(JsonPointerSchema).check(z.minLength(1))]);

const CustomFieldsSchema = z.strictObject({
  firstName: z.optional(Pointers),
  lastName: z.optional(Pointers),
  fullName: z.optional(Pointers),
  email: z.optional(Pointers),
  phone: z.optional(Pointers),
  /** The country the phone is read in (ISO 3166-1 alpha-2 or a country name). */
  country: z.optional(Pointers),
  /** A string or an array of strings at each pointer. */
  tags: z.optional(Pointers),
  /** Contact attributes: name → where its value is. */
  attributes: z.optional(z.record(z.string().check(z.minLength(1)), Pointers)),
});
export type CustomFields = z.infer<typeof CustomFieldsSchema>;

const CustomSignatureSchema = z.strictObject({
  /** The header holding the signature, e.g. `X-Signature`. */
  header: z.string().check(z.regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a header name such as "X-Signature"')),
  algorithm: z._default(z.enum(['sha256', 'sha1']), 'sha256'),
  encoding: z._default(z.enum(['hex', 'base64']), 'hex'),
  /** Text before the signature in the header, e.g. `sha256=`. */
  prefix: z.optional(z.string().check(z.minLength(1))),
  /** What is signed: `{body}` (the raw body) and `{timestamp}` (the timestamp header's value). */
  signedString: z._default(z.string().check(z.includes('{body}', { message: 'must contain {body}' })), '{body}'),
  /** The header holding the time the sender signed at (Unix seconds, or milliseconds when over 10^12). */
  timestampHeader: z.optional(z.string().check(z.regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a header name'))),
  /** How old (or how far ahead) a timestamp may be. */
  toleranceSeconds: z._default(z.number().check(z.int(), z.positive(), z.lte(3600)), 300),
});
export type CustomSignature = z.infer<typeof CustomSignatureSchema>;

export const CustomRouteSchema = z.strictObject({
  fields: CustomFieldsSchema,
  /** Where the sender's id of the event is; without it, the body's hash names the event. */
  eventId: z.optional(JsonPointerSchema),
  /** Check an HMAC signature (the route's auth is then `hmac`). */
  signature: z.optional(CustomSignatureSchema),
});
export type CustomRoute = z.infer<typeof CustomRouteSchema>;

/**
 * The pointers a custom route reads from the top level of the body (`/email`), as the member names they are: a form's
 * honeypot is such a member, so it must not be one real visitors fill.
 */
export function topLevelMembers(fields: CustomFields): string[] {
  const { attributes, ...parts } = fields;
  return [...Object.values(parts), ...Object.values(attributes ?? {})]
    .flatMap((pointers) => (typeof pointers === 'string' ? [pointers] : pointers))
    .filter((pointer) => /^\/[^/]*$/.test(pointer))
    .map((pointer) => pointer.slice(1).replace(/~1/g, '/').replace(/~0/g, '~'));
}
