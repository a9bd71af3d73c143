/**
 * `contact-relay`: the operator's command line. Sends signed webhooks,
 * replays many, imports a contacts CSV through a form route, checks a
 * stage's configuration, writes secret templates, and traces events and
 * dead-lettered jobs through the events table and queues. Run through
 * bin/contact-relay.js (`npx contact-relay`).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { dlq } from './commands/dlq.js';
import { doctor } from './commands/doctor.js';
import { events } from './commands/events.js';
import { importContacts } from './commands/import.js';
import { replay } from './commands/replay.js';
import { samples } from './commands/samples.js';
import { secrets } from './commands/secrets.js';
import { send } from './commands/send.js';
import { trace } from './commands/trace.js';
import { tryAccount } from './commands/try.js';
import { PROJECT_ROOT } from './context.js';
import { CliError, EXIT, print, UsageError, type Io } from './io.js';

const MAIN_HELP = `contact-relay — send, replay and import webhooks; check a stage's configuration; trace events

Usage: contact-relay <command> [options]

Commands:
  send <source> <payload-file>   sign a payload as its platform signs it, post it, print the answer
  send <source> --sample         the same with the sample shipped for that source
  samples                        list the shipped sample payloads
  replay <file.jsonl | dir>      send many webhooks concurrently, with a summary
  import <contacts.csv> --route R
                                 bulk-import contacts through a plain form route (resumable)
  doctor                         check route config, secrets and provider credentials (✓/✗)
  try <account> --phone P        deliver one contact to one provider account and print each
                                 HTTP request and answer, masked (really creates it)
  secrets init                   write a template per secret the route config needs, and
                                 print the AWS CLI commands that create them
  trace <eventKey | email | phone>
                                 what happened to an event, or to a person's events:
                                 received, queued, each account's attempts, dead-lettered
  events [--since 2h]            recent events with filters, counted per outcome and provider
  dlq list | redrive | drop      the jobs in the dead-letter queue: list them with their
                                 pending accounts, move them back now, or remove one

Stage local (the default) means the stack of \`npm start\`: its API at
http://127.0.0.1:$PORT (3000 when unset), secrets from local/secrets.json (or
LOCAL_SECRETS_FILE), providers emulated at http://127.0.0.1:$EMULATOR_PORT (4010
when unset) unless a PROVIDER_URL_* variable points one elsewhere.
Any other stage reads AWS Secrets Manager in --region (default: AWS_REGION, else
AWS_DEFAULT_REGION, else the region serverless.yml deploys to) and needs --url for
its API.

Run contact-relay <command> --help for a command's options.

Exit codes:
  0    done
  1    what was asked failed (a refused webhook, a rejected replay item, a missing
       file, an unreachable URL, a ✗ in doctor)
  2    usage error (unknown command, source or option; a missing argument)
  130  interrupted (Ctrl-C)
`;

type Command = (argv: string[], io: Io) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  send,
  samples,
  replay,
  import: importContacts,
  doctor,
  try: tryAccount,
  secrets,
  trace,
  events,
  dlq,
};

export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    // No command is a usage error: the help goes where errors go.
    io.stderr.write(MAIN_HELP);
    return EXIT.usage;
  }
  if (command === '-h' || command === '--help' || command === 'help') {
    if (command === 'help' && rest[0] !== undefined && Object.hasOwn(COMMANDS, rest[0]))
      return main([rest[0], '--help'], io);
    io.stdout.write(MAIN_HELP);
    return EXIT.ok;
  }
  if (command === '--version' || command === '-v') {
    print(
      io.stdout,
      (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string }).version,
    );
    return EXIT.ok;
  }
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  try {
    if (run === undefined)
      throw new UsageError(`unknown command "${command}"; commands: ${Object.keys(COMMANDS).join(', ')}`);
    return await run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      print(io.stderr, `contact-relay${error.command ? ` ${error.command}` : ''}: ${error.message}`);
      print(io.stderr, `Run contact-relay ${error.command ? `${error.command} ` : ''}--help for usage.`);
      return EXIT.usage;
    }
    if (error instanceof CliError) {
      print(io.stderr, `contact-relay${command ? ` ${command}` : ''}: ${error.message}`);
      return EXIT.failed;
    }
    print(io.stderr, `contact-relay ${command}: unexpected error: ${(error as Error).stack ?? String(error)}`);
    return EXIT.failed;
  }
}

/** Run as a program: real streams, Ctrl-C aborts the running command, exit once output is flushed. */
export async function runAsProgram(): Promise<void> {
  const controller = new AbortController();
  let interrupts = 0;
  process.on('SIGINT', () => {
    interrupts += 1;
    // The first Ctrl-C lets a long command save its progress; a second one leaves at once.
    if (interrupts > 1) process.exit(EXIT.interrupted);
    controller.abort();
  });
  const code = await main(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    now: () => new Date(),
    signal: controller.signal,
  });
  // Keep-alive sockets and SDK clients must not hold the process open; exit once both streams are flushed.
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

// Run directly (`tsx cli/main.ts …`); bin/contact-relay.js imports it and calls runAsProgram.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runAsProgram();
}
