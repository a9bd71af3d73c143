/**
 * Chatwoot's contact_create_payload as the project keeps it (test/contracts/chatwoot/), written from
 * https://developers.chatwoot.com/api-reference/contacts/create-contact: a clone of this repository
 * alone has everything the contract tests read.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';

/** The contract folder; every file the Chatwoot tests read is under it. */
export const CHATWOOT_CONTRACT_DIR = new URL('../contracts/chatwoot/', import.meta.url);

export const readChatwootContract = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(name, CHATWOOT_CONTRACT_DIR), 'utf8')) as unknown;

const schema = readChatwootContract('contact-create-payload.schema.json') as { properties: Record<string, unknown> };

export const validateChatwootCreatePayload = new Ajv2020({ strict: true, allErrors: true }).compile(schema);
export const CHATWOOT_PAYLOAD_KEYS = Object.keys(schema.properties);
