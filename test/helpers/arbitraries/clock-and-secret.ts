/** The clock every property runs at, and the route secret `{ secret: 's', token: 't' }`. */
export const NOW = new Date('2026-11-21T10:00:00.000Z');
export const SECRET = 's';
export const TOKEN = 't';
