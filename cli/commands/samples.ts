import { SOURCES } from '../../shared/contact.js';
import { noExtraPositionals, parse } from '../args.js';
import { shown } from '../context.js';
import { EXIT, print, table, type Io } from '../io.js';
import { samplePath, SAMPLES } from '../samples.js';

const SAMPLES_HELP = `Usage: contact-relay samples [--json]

List the sample payload shipped for every source (cli/samples/), the topic it
is sent with and the contact it becomes. Send one with:
  contact-relay send <source> --sample

Exit codes: 0 listed; 2 usage error.
`;

export async function samples(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('samples', argv, { json: { type: 'boolean' } } as const);
  if (values.help) {
    io.stdout.write(SAMPLES_HELP);
    return EXIT.ok;
  }
  noExtraPositionals(positionals, 0, 'samples');
  const list = SOURCES.map((source) => ({ ...SAMPLES[source], path: samplePath(source) }));
  if (values.json) {
    print(io.stdout, JSON.stringify(list));
    return EXIT.ok;
  }
  print(
    io.stdout,
    table(
      [
        ['source', 'file', 'topic', 'becomes'],
        ...list.map((sample) => [sample.source, shown(io, sample.path), sample.topic ?? '-', sample.contact]),
      ],
      '',
    ),
  );
  print(io.stdout);
  print(io.stdout, 'Send one: contact-relay send <source> --sample');
  return EXIT.ok;
}
