/**
 * The soak's people: distinct names, emails and phone numbers, drawn from a
 * seed. Numbers come from ranges set aside for fiction (US 555-0100…0199 in
 * every area code, Ofcom's drama ranges in the UK), so nothing here is a real
 * subscriber; each is checked valid with libphonenumber before use. Some
 * people give their number in international form, others in national form
 * with a country beside it, as forms and checkouts collect them.
 */
import { parsePhoneNumber } from 'libphonenumber-js';
import type { Random } from '../../local/emulator/random.js';

export type Country = 'US' | 'GB';

export interface Person {
  index: number;
  firstName: string;
  lastName: string;
  /** As the person typed it (mixed case now and then). */
  email: string;
  /** What every provider must end up with. */
  e164: string;
  country: Country;
  /** "United States" / "United Kingdom", for senders whose country field holds a name. */
  countryName: string;
  /** National form, e.g. "(415) 555-0132" or "020 7946 0123". */
  national: string;
  /** The national significant number as digits, e.g. 4155550132 (Webflow sends numbers as JSON numbers). */
  nationalDigits: string;
  /** International form as people type it, e.g. "+1 415 555 0132". */
  international: string;
  /** Whether this person's payload gives the national form (with a country) rather than the international one. */
  givesNational: boolean;
}

const FIRST = [
  'Ada',
  'Grace',
  'Alan',
  'Katherine',
  'Linus',
  'Margaret',
  'Edsger',
  'Barbara',
  'Dennis',
  'Frances',
  'Ken',
  'Radia',
  'Tim',
  'Hedy',
  'John',
  'Sophie',
  'Niklaus',
  'Jean',
  'Donald',
  'Shafi',
  'Lena',
  'Jan',
  'Siobhán',
  'Zoë',
  'Mateo',
  'Aiko',
  'Priya',
  'Kwame',
  'Olga',
  'Yusuf',
];
const LAST = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Johnson',
  'Torvalds',
  'Hamilton',
  'Dijkstra',
  'Liskov',
  'Ritchie',
  'Allen',
  'Thompson',
  'Perlman',
  'Berners-Lee',
  'Lamarr',
  'Backus',
  'Wilson',
  'Wirth',
  'Sammet',
  'Knuth',
  'Goldwasser',
  'Schmidt',
  'Peeters',
  "O'Brien",
  'Núñez',
  'García',
  'Tanaka',
  'Patel',
  'Mensah',
  'Ivanova',
  'Demir',
];

/** UK drama ranges (Ofcom): 1000 numbers each. */
const GB_RANGES = ['207946', '121496', '117496', '161496', '113496', '131496', '118496', '289018', '292018', '191498'];

interface PhonePool {
  us: string[];
  gb: string[];
}

let pool: PhonePool | undefined;

/** Every usable number, in a fixed order: US area codes × 555-0100…0199, then the UK drama ranges. */
function phonePool(): PhonePool {
  if (pool !== undefined) return pool;
  const areas: number[] = [];
  for (let area = 200; area < 1000; area++) {
    const sample = parsePhoneNumber(`+1${area}5550100`);
    if (sample.isValid() && sample.country === 'US' && parsePhoneNumber(`+1${area}5550199`).isValid()) areas.push(area);
  }
  const us: string[] = [];
  // Line-major, so consecutive people get different area codes.
  for (let line = 100; line < 200; line++) for (const area of areas) us.push(`+1${area}5550${line}`);
  const gb: string[] = [];
  for (let n = 0; n < 1000; n++) for (const range of GB_RANGES) gb.push(`+44${range}${String(n).padStart(4, '0')}`);
  pool = { us, gb: gb.filter((number) => parsePhoneNumber(number).isValid()) };
  return pool;
}

export function peopleCapacity(): number {
  const { us, gb } = phonePool();
  return us.length + gb.length;
}

function pick<T>(items: readonly T[], random: Random): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** `count` distinct people; about a quarter British, about `nationalShare` giving a national number. */
export function makePeople(count: number, random: Random, nationalShare = 0.4): Person[] {
  const { us, gb } = phonePool();
  if (count > us.length + gb.length)
    throw new Error(`at most ${us.length + gb.length} distinct people (fictional number ranges); asked for ${count}`);
  let nextUs = 0;
  let nextGb = 0;
  const people: Person[] = [];
  for (let index = 0; index < count; index++) {
    const british = (random() < 0.25 && nextGb < gb.length) || nextUs >= us.length;
    const e164 = british ? (gb[nextGb++] as string) : (us[nextUs++] as string);
    const parsed = parsePhoneNumber(e164);
    const firstName = pick(FIRST, random);
    const lastName = pick(LAST, random);
    const local = `${firstName}.${lastName}`
      .normalize('NFD')
      .replace(/[^A-Za-z.]/g, '')
      .toLowerCase();
    const email = `${local}.${index}@example.com`;
    people.push({
      index,
      firstName,
      lastName,
      email: random() < 0.1 ? email.replace(/^./, (first) => first.toUpperCase()) : email,
      e164,
      country: british ? 'GB' : 'US',
      countryName: british ? 'United Kingdom' : 'United States',
      national: parsed.formatNational(),
      nationalDigits: String(parsed.nationalNumber),
      international: parsed.formatInternational(),
      givesNational: random() < nationalShare,
    });
  }
  return people;
}
