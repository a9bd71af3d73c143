import type { Contact } from '../../shared/contact.js';

export function testContact(overrides: Partial<Contact> = {}): Contact {
  return {
    firstName: 'Ada',
    lastName: 'Lovelace',
    emails: ['ada@example.com'],
    phones: [{ e164: '+14155550132' }],
    rejectedPhones: [],
    tags: [],
    attributes: {},
    origin: {
      source: 'form',
      route: 'default',
      eventKey: 'form:default:evt-1',
      occurredAt: '2026-11-21T10:00:00.000Z',
      personKey: 'ada@example.com',
    },
    ...overrides,
  };
}
