/**
 * 2Chat: POST {base}/open/contacts with X-User-API-Key
 * (../shared/seeds/2chat-create-contact.txt). A contact needs a first name
 * and at least one contact detail; phones go as PH, or WAPH when the route
 * says its numbers are on WhatsApp.
 */
import { displayName, type Contact } from '../contact.js';
import { HttpConnectionError, HttpResponseTooLargeError, HttpTimeoutError, type HttpResponse } from '../http.js';
import { providerSecretName } from '../secrets.js';
import { z } from '../validation.js';
import type { DeliveryTarget, Outcome, ProviderClient } from './types.js';

export const TwoChatCredentialsSchema = z.object({
  apiKey: z.string().check(z.minLength(1)),
});

export interface TwoChatContactRequest {
  first_name: string;
  last_name?: string;
  profile_pic_url?: string;
  contact_detail: Array<{ type: 'E' | 'A' | 'PH' | 'WAPH'; value: string }>;
}

export const TwoChatCreatedSchema = z.object({
  success: z.literal(true),
  contact: z.object({ uuid: z.string() }),
});

const TwoChatErrorSchema = z.object({ message: z.optional(z.string()), error: z.optional(z.string()) });

/** The documented body; undefined when the contact has nothing 2Chat accepts. */
export function toTwoChatRequest(contact: Contact, target: DeliveryTarget): TwoChatContactRequest | undefined {
  const details: TwoChatContactRequest['contact_detail'] = [];
  for (const phone of contact.phones) {
    details.push({ type: phone.whatsapp === true || target.route.whatsappNumbers ? 'WAPH' : 'PH', value: phone.e164 });
  }
  for (const email of contact.emails) details.push({ type: 'E', value: email });
  if (details.length === 0) return undefined;
  // 2Chat requires a first name: fall back to the last name, then to the first detail.
  const firstName = contact.firstName ?? contact.lastName ?? (details[0] as { value: string }).value;
  const request: TwoChatContactRequest = { first_name: firstName, contact_detail: details };
  if (contact.firstName !== undefined && contact.lastName !== undefined) request.last_name = contact.lastName;
  if (contact.avatarUrl !== undefined) request.profile_pic_url = contact.avatarUrl;
  return request;
}

/** 2Chat answers that mean "the number is not ready yet" or "slow down". */
const TWOCHAT_TRANSIENT = new Set([409, 410, 429, 486, 500, 502, 503, 504]);

export function classifyTwoChatResponse(response: HttpResponse, base: Pick<Outcome, 'account' | 'provider'>): Outcome {
  let json: unknown;
  try {
    json = JSON.parse(response.body);
  } catch {
    json = undefined;
  }
  if (response.status >= 200 && response.status < 300) {
    const created = TwoChatCreatedSchema.safeParse(json);
    if (created.success) return { ...base, status: 'created', providerContactId: created.data.contact.uuid };
    return { ...base, status: 'failed', httpStatus: response.status, code: 'unexpected_response', message: '2Chat answered 2xx without a created contact' };
  }
  const error = TwoChatErrorSchema.safeParse(json);
  const message = (error.success ? (error.data.message ?? error.data.error) : undefined) ?? `HTTP ${response.status}`;
  if (TWOCHAT_TRANSIENT.has(response.status) || response.status >= 500) {
    return { ...base, status: 'transient', httpStatus: response.status, message };
  }
  return { ...base, status: 'failed', httpStatus: response.status, message };
}

export const deliverToTwoChat: ProviderClient = async (contact, target, context) => {
  const base = { account: target.account.name, provider: 'twochat' as const };
  const body = toTwoChatRequest(contact, target);
  if (body === undefined) return { ...base, status: 'skipped', reason: '2Chat needs an email or a valid phone number' };
  const credentials = await context.secrets.get(providerSecretName(context.stage, target.account.name), TwoChatCredentialsSchema);
  try {
    const response = await context.http.request({
      method: 'POST',
      url: `${context.baseUrls.twochat}/open/contacts`,
      headers: { 'content-type': 'application/json', 'x-user-api-key': credentials.apiKey },
      body: JSON.stringify(body),
    });
    return classifyTwoChatResponse(response, base);
  } catch (error) {
    return transportOutcome(error, base);
  }
};

/** Network trouble is always worth another try. */
export function transportOutcome(error: unknown, base: Pick<Outcome, 'account' | 'provider'>): Outcome {
  if (error instanceof HttpTimeoutError || error instanceof HttpConnectionError || error instanceof HttpResponseTooLargeError) {
    return { ...base, status: 'transient', message: error.message };
  }
  throw error;
}
