/**
 * The regions a route's defaultRegion may name: the ISO 3166-1 alpha-2 codes
 * libphonenumber-js has metadata for (its getCountries(), version 1.13.16).
 * A constant, so the route schema, which every function validates at cold
 * start, does not load libphonenumber-js's metadata into functions that never
 * read a phone (healthcheck, redrive: 80 KB of their bundles, measured by
 * `npm run bench`). test/unit/config/regions.test.ts fails when the library's list changes.
 */
const REGIONS: ReadonlySet<string> = new Set(
  [
    'AC AD AE AF AG AI AL AM AO AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT',
    'BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER',
    'ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GT GU GW GY HK HN HR HT HU ID IE',
    'IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV',
    'LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP',
    'NR NU NZ OM PA PE PF PG PH PK PL PM PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK',
    'SL SM SN SO SR SS ST SV SX SY SZ TA TC TD TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG US UY UZ VA',
    'VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW',
  ]
    .join(' ')
    .split(' '),
);

/** Whether `value` (any case) is a region libphonenumber-js can read national numbers of. */
export function isRegion(value: string): boolean {
  return REGIONS.has(value.toUpperCase());
}
