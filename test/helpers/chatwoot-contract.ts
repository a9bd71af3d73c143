/** Chatwoot's OpenAPI request schema for creating a contact, from ../shared/contracts (beside the project, in CI too). */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const SHARED = new URL('../../../shared/', import.meta.url);
export const chatwootExtract = JSON.parse(readFileSync(new URL('contracts/chatwoot/contacts-openapi-extract.json', SHARED), 'utf8')) as {
  components: { schemas: { contact_create_payload: { properties: Record<string, unknown> } } };
};

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormatsModule.default(ajv);
ajv.addSchema(chatwootExtract, 'chatwoot-contacts');
const validate = ajv.getSchema('chatwoot-contacts#/components/schemas/contact_create_payload');
if (validate === undefined) throw new Error('contact_create_payload is missing from the OpenAPI extract');

export const validateChatwootCreatePayload = validate;
export const CHATWOOT_PAYLOAD_KEYS = Object.keys(chatwootExtract.components.schemas.contact_create_payload.properties);
