/** Mutations: one change to bytes or text, always giving something different from the input. */
import fc from 'fast-check';

export type Mutation =
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'append'; bytes: number[] }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: number[] };

const someBytes = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 4 });

/** One mutation; positions are taken modulo the length, so every mutation applies to every non-empty input. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('append' as const), bytes: someBytes }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: someBytes }),
);

/** `input` with the mutation applied: always different from `input` (an empty input is appended to). */
export function mutate(input: Buffer, change: Mutation): Buffer {
  if (input.length === 0) return Buffer.from(change.kind === 'append' || change.kind === 'insert' ? change.bytes : [0]);
  switch (change.kind) {
    case 'flip': {
      const copy = Buffer.from(input);
      const at = change.at % input.length;
      copy[at] = (copy[at] as number) ^ change.mask;
      return copy;
    }
    case 'append':
      return Buffer.concat([input, Buffer.from(change.bytes)]);
    case 'truncate':
      return input.subarray(0, change.at % input.length);
    case 'insert': {
      const at = change.at % (input.length + 1);
      return Buffer.concat([input.subarray(0, at), Buffer.from(change.bytes), input.subarray(at)]);
    }
  }
}

export interface TextMutation {
  kind: 'flip' | 'append' | 'truncate' | 'insert';
  at: number;
  char: string;
}

/** The same for text: one character of `alphabet` replacing one, appended or inserted; or the text cut short. */
export const textMutation = (alphabet: string): fc.Arbitrary<TextMutation> =>
  fc.record({
    kind: fc.constantFrom('flip' as const, 'append' as const, 'truncate' as const, 'insert' as const),
    at: fc.nat(),
    char: fc.constantFrom(...alphabet.split('')),
  });

/** `text` with the mutation applied: always different from `text`. */
export function mutateText(text: string, { kind, at, char }: TextMutation): string {
  if (text === '') return char;
  const index = at % text.length;
  switch (kind) {
    case 'flip': {
      const replacement = text[index] === char ? (char === 'A' ? 'B' : 'A') : char;
      return `${text.slice(0, index)}${replacement}${text.slice(index + 1)}`;
    }
    case 'append':
      return `${text}${char}`;
    case 'truncate':
      return text.slice(0, index);
    case 'insert':
      return `${text.slice(0, index)}${char}${text.slice(index)}`;
  }
}
