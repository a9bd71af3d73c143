/** fast-check arbitraries for the values senders put in fields: phones, emails, names, countries, dates, field names and flat field sets. */
import fc from 'fast-check';
import { getCountries, getExampleNumber, type CountryCode } from 'libphonenumber-js';
import examples from 'libphonenumber-js/mobile/examples';

export const REGIONS: CountryCode[] = getCountries();

export interface ExamplePhone {
  country: CountryCode;
  e164: string;
  national: string;
  international: string;
  nationalNumber: string;
}

/** One valid mobile number per region libphonenumber knows, in the formats people type. */
export const EXAMPLE_PHONES: ExamplePhone[] = REGIONS.flatMap((country) => {
  const example = getExampleNumber(country, examples);
  if (example === undefined) return [];
  return [
    {
      country,
      e164: example.number,
      national: example.formatNational(),
      international: example.formatInternational(),
      nationalNumber: example.nationalNumber,
    },
  ];
});

export const examplePhone: fc.Arbitrary<ExamplePhone> = fc.constantFrom(...EXAMPLE_PHONES);

const SEPARATORS = ['', '', '', ' ', '-', '.', ' (', ') ', '/', '  ', ' - '];
/** Digits with the separators people type between them. */
export const digitRun = (minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc
    .array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.constantFrom(...SEPARATORS)), { minLength, maxLength })
    .map((parts) =>
      parts
        .map(([digit, separator]) => `${digit}${separator}`)
        .join('')
        .trim(),
    );

/** A phone as typed: valid numbers in every format (E.164, international, national, `00`), near misses, digit soup and junk. */
export const phoneText: fc.Arbitrary<string> = fc.oneof(
  examplePhone.map((phone) => phone.e164),
  examplePhone.map((phone) => phone.international),
  examplePhone.map((phone) => phone.national),
  examplePhone.map((phone) => `00${phone.e164.slice(1)}`),
  examplePhone.map((phone) => `00 ${phone.international.slice(1)}`),
  // A valid number with its last digits changed: valid or not, depending on the plan.
  fc
    .tuple(examplePhone, fc.integer({ min: 0, max: 999 }))
    .map(([phone, tail]) => `${phone.e164.slice(0, -3)}${String(tail).padStart(3, '0')}`),
  // At most 12 digits in all: longer ones meet the open normalisePhone finding (numbers of more than 15 digits accepted as valid in
  // DE, NG, ID, JP, e.g. normalisePhone('10000000000000', { defaultRegion: 'DE' }) gives '+4910000000000000'), which would fail every
  // contact property. phone.property.test.ts pins everything else about normalisePhone.
  fc
    .tuple(fc.constantFrom('', '', '+', '00', '0', '011', '+00', '(0)'), digitRun(1, 9))
    .map(([prefix, digits]) => `${prefix}${digits}`),
  fc.constantFrom(
    '',
    ' ',
    '+',
    '00',
    'n/a',
    '12',
    '(415) 555-0132',
    '+1 415 555 0132 ext. 12',
    '1-800-FLOWERS',
    '+44 (0) 20 7946 0018',
    '0044 20 7946 0018',
    '020 7946 0018',
    '+49 151 23456789',
    '011 15 2345-6789',
    '+999 1234 5678',
    '+1 000 555 0132',
    'tel:+14155550132',
  ),
  fc.string({ maxLength: 24 }),
);

/** A phone sent as a JSON number (Webflow, spreadsheets): digits of real numbers, and numbers that are not phones. */
export const phoneNumber: fc.Arbitrary<number> = fc.oneof(
  // At most 12 digits, as for phoneText: the international digits of a 13-digit number read nationally in Nigeria or Germany
  // meet the same finding (8801812345678 read in NG gives '+2348801812345678').
  examplePhone.map((phone) => Number(phone.e164.slice(1))).filter((number) => number <= 999_999_999_999),
  examplePhone.map((phone) => Number(phone.nationalNumber)),
  fc.integer(),
  fc.integer({ min: -999_999_999_999, max: 999_999_999_999 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -1, 2 ** 60, Number.MAX_SAFE_INTEGER + 2, 4155550132, 14155550132),
);

/** Addresses of the everyday kind (`ada.lovelace+news@mail.example.co.uk`). */
export const plainEmail: fc.Arbitrary<string> = fc
  .tuple(
    fc.stringMatching(/^[a-z0-9]([a-z0-9._+-]{0,10}[a-z0-9])?$/).filter((local) => !local.includes('..')),
    fc.array(fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/), { minLength: 1, maxLength: 2 }),
    fc.constantFrom('com', 'de', 'co', 'org', 'io', 'example'),
  )
  .map(([local, labels, tld]) => `${local}@${labels.join('.')}.${tld}`);

/** Emails as typed: valid ones in any case and with spaces around, near misses and junk. */
export const emailText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: plainEmail },
  { weight: 1, arbitrary: plainEmail.map((email) => ` ${email.toUpperCase()}  `) },
  fc.emailAddress(),
  fc.emailAddress().map((email) => email.toUpperCase()),
  fc.emailAddress().map((email) => `  ${email} `),
  fc.constantFrom(
    'ada@example.com',
    'Ada.Lovelace+tag@Example.co.uk',
    "o'brien@example.ie",
    'ada@',
    '@example.com',
    'ada@example',
    'ada example.com',
    'ada@@example.com',
    'ada@exa mple.com',
    'ada.@example.com',
    'ada..b@example.com',
    'adä@example.com',
    'ada@example.com, bob@example.com',
    'mailto:ada@example.com',
    '<ada@example.com>',
    'ada@example.c',
  ),
  fc.string({ maxLength: 24 }),
);

export const nameText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('Ada', 'Ada Lovelace', '  Grace   Brewster Hopper ', 'O&#039;Brien', 'Zoë', 'Ng', ''),
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
);

export const countryText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...REGIONS),
  fc.constantFrom(...REGIONS).map((region) => region.toLowerCase()),
  fc.constantFrom('United Kingdom', 'Germany', 'united states', 'usa', 'UK', 'Deutschland', 'XX', ' gb ', ''),
  fc.string({ maxLength: 5 }),
);

/** Any value a text field may hold. */
export const fieldText: fc.Arbitrary<string> = fc.oneof(
  phoneText,
  emailText,
  nameText,
  countryText,
  fc.string({ maxLength: 16 }),
);

export const dateText: fc.Arbitrary<string> = fc.oneof(
  fc
    .date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
    .map((date) => date.toISOString()),
  fc.constantFrom('2017-03-22T19:28:02', '2026-11-21', 'yesterday', '', '0', '2026-13-45T99:99:99Z'),
  fc.string({ maxLength: 12 }),
);

/** Field names the automatic detection knows, question-style labels, configured names, prototype keys and random names. */
export const FIELD_NAMES = [
  'email',
  'Email',
  'E-mail:',
  'email_address',
  'your_email',
  'mail',
  'phone',
  'Phone Number',
  'phone_number',
  'mobile',
  'Mobile phone (WhatsApp)',
  'whatsapp',
  'tel',
  'cell',
  'first_name',
  'First Name',
  'firstname',
  'fname',
  'last_name',
  'surname',
  'Last-Name',
  'name',
  'full_name',
  'Your name',
  'What is your first name?',
  'Your e-mail',
  'May we phone you?',
  'country',
  'Country',
  'country_code',
  'Land',
  'tags',
  'Tags',
  'utm_source',
  'plan',
  'Kampagne',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
] as const;

export const fieldName: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...FIELD_NAMES) },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);

/** Names a field holding one part of a contact goes by, in the forms senders use. */
export const ROLE_NAMES = {
  email: ['email', 'Email', 'E-mail:', 'email_address', 'your_email', 'mail', 'Your e-mail'],
  phone: ['phone', 'Phone Number', 'phone_number', 'mobile', 'whatsapp', 'tel', 'cell', 'Mobile phone (WhatsApp)'],
  firstName: ['first_name', 'First Name', 'firstname', 'fname', 'What is your first name?'],
  lastName: ['last_name', 'surname', 'Last-Name'],
  fullName: ['name', 'full_name', 'Your name'],
  country: ['country', 'Country', 'country_code', 'Land'],
  tags: ['tags', 'Tags'],
} as const;
export type Role = keyof typeof ROLE_NAMES;

const ROLE_VALUES: Record<Role, fc.Arbitrary<string>> = {
  email: emailText,
  phone: phoneText,
  firstName: nameText,
  lastName: nameText,
  fullName: nameText,
  country: countryText,
  tags: fc.string({ maxLength: 16 }),
};

/** The contact parts a submission carries (each at most once), each under one of its usual names: role, field name, text. */
export const roleFields: fc.Arbitrary<Array<[Role, string, string]>> = fc
  .subarray(Object.keys(ROLE_NAMES) as Role[])
  .chain((roles) =>
    fc.tuple(
      ...roles.map((role) => fc.tuple(fc.constant(role), fc.constantFrom(...ROLE_NAMES[role]), ROLE_VALUES[role])),
    ),
  )
  .map((parts) => parts as Array<[Role, string, string]>);

/** What a flat form field may hold once parsed: text or a list of texts. */
export const formValue: fc.Arbitrary<string | string[]> = fc.oneof(
  { weight: 4, arbitrary: fieldText },
  { weight: 1, arbitrary: fc.array(fieldText, { maxLength: 3 }) },
);

/** A JSON leaf a sender may put where text is expected. */
export const jsonLeaf: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fieldText },
  { weight: 2, arbitrary: phoneNumber },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.array(fc.oneof(fieldText, phoneNumber), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** A flat submission: its contact parts, a phone sometimes as a JSON number, and other fields of any name and value; in random order. */
export const flatFields: fc.Arbitrary<Array<[string, unknown]>> = fc
  .tuple(roleFields, phoneNumber, fc.boolean(), fc.array(fc.tuple(fieldName, jsonLeaf), { maxLength: 3 }))
  .chain(([roles, number, numeric, extra]) =>
    fc.shuffledSubarray(
      [
        ...roles.map(([role, name, value]): [string, unknown] => [name, role === 'phone' && numeric ? number : value]),
        ...extra,
      ],
      { minLength: roles.length + extra.length },
    ),
  );
