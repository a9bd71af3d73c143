/**
 * `npm ci` installs from the lockfile and `npm install` rewrites it when its
 * root entry disagrees with package.json: the two must say the same, or a
 * user's first `npm install` leaves a modified lockfile behind.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (file: string) =>
  JSON.parse(readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8')) as Record<string, unknown>;

describe('package-lock.json', () => {
  it('has a root entry saying what package.json says', () => {
    const manifest = read('package.json');
    const root = (read('package-lock.json')['packages'] as Record<string, Record<string, unknown>>)[''];
    const fields = ['name', 'version', 'bin', 'engines', 'dependencies', 'devDependencies'] as const;
    expect(root).toEqual(
      Object.fromEntries(
        fields.filter((field) => manifest[field] !== undefined).map((field) => [field, manifest[field]]),
      ),
    );
  });
});
