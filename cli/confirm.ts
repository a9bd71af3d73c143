/** A yes/no question on the terminal, for commands that destroy something. */
import { createInterface } from 'node:readline/promises';
import type { OutStream } from './io.js';

export interface Terminal {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: OutStream;
}

/** True only when a person at a terminal answers y or yes. */
export async function confirm(question: string, terminal: Terminal): Promise<boolean> {
  const prompt = createInterface({ input: terminal.input, output: terminal.output as NodeJS.WritableStream });
  try {
    const answer = await prompt.question(`${question} [y/N] `);
    return /^(y|yes)$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}
