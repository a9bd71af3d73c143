import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { noExtraPositionals, parse } from '../args.js';
import { awsRegion, checkStage, describeRegion, LOCAL_STAGE, loadRoutes, shown, userPath } from '../context.js';
import { CliError, EXIT, plural, print, table, UsageError, type Io } from '../io.js';
import { neededSecrets, outsideStage, templateFileName } from '../secret-specs.js';
import { regionArgument, shellQuote } from '../shell.js';

const DEFAULT_SECRETS_STAGE = 'dev';

const SECRETS_HELP = `Usage: contact-relay secrets init [--stage S] [--out DIR] [options]

Write a JSON template for every secret the route config needs — each provider
account's credentials, the signing secret or token of every route whose auth
checks one, the Shopify Admin API credentials of every route with reconcile —
with placeholders such as "<2Chat API key>", and print the AWS CLI commands
that create them in Secrets Manager.

Options:
  --stage S       stage the secrets are named for: contact-relay/{stage}/…
                  (default: ${DEFAULT_SECRETS_STAGE}, the stage \`osls deploy\` uses without --stage)
  --region R      AWS region the printed commands create the secrets in: the stack's
                  (default: AWS_REGION, else AWS_DEFAULT_REGION, else the region
                  serverless.yml deploys to without --region, us-east-1; a stack
                  deployed with --region needs the same --region here)
  --out DIR       where to write the templates (default: contact-relay-secrets/{stage})
  --force         overwrite templates that already exist (default: keep them, they
                  may hold filled-in keys)
  --config FILE   route config (default: config/routes.json)
  --json          print {stage, region, out, secrets: [{name, file, written, command}]}
  -h, --help      this help

Once filled in, the files hold keys: keep them out of git and delete them after
creating the secrets. Check the result with: contact-relay doctor --stage S

Exit codes:
  0  templates written (or kept) and commands printed
  1  the route config is invalid, or a file cannot be written
  2  usage error (e.g. a subcommand other than init)
`;

const OPTIONS = {
  stage: { type: 'string' },
  region: { type: 'string' },
  out: { type: 'string' },
  force: { type: 'boolean' },
  config: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export async function secrets(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse('secrets', argv, OPTIONS);
  if (values.help) {
    io.stdout.write(SECRETS_HELP);
    return EXIT.ok;
  }
  const action = positionals[0];
  if (action === undefined) throw new UsageError('name the action: contact-relay secrets init', 'secrets');
  if (action !== 'init') throw new UsageError(`unknown action "${action}"; actions: init`, 'secrets');
  noExtraPositionals(positionals, 1, 'secrets');
  const stage = checkStage(values.stage ?? DEFAULT_SECRETS_STAGE, 'secrets');
  // Stage local has no AWS secrets: a region is resolved only for another stage, or checked when typed.
  const local = stage === LOCAL_STAGE && values.region === undefined;
  const region = local ? undefined : awsRegion(io.env, values.region, 'secrets');
  const inRegion = regionArgument(region?.name);
  const routes = loadRoutes(io, values.config);
  const specs = neededSecrets(routes.config, stage);
  const outDir = userPath(io, values.out ?? path.join('contact-relay-secrets', stage));
  try {
    mkdirSync(outDir, { recursive: true });
  } catch (error) {
    throw new CliError(`cannot create ${shown(io, outDir)}: ${(error as Error).message}`);
  }

  const written = specs.map((spec) => {
    const file = path.join(outDir, templateFileName(spec.name, stage));
    const exists = existsSync(file);
    if (!exists || values.force) {
      try {
        writeFileSync(file, `${JSON.stringify(spec.template, null, 2)}\n`, { mode: 0o600 });
      } catch (error) {
        throw new CliError(`cannot write ${shown(io, file)}: ${(error as Error).message}`);
      }
    }
    const fileUrl = `file://${shown(io, file)}`;
    const [name, value] = [shellQuote(spec.name), shellQuote(fileUrl)];
    const command = `aws secretsmanager create-secret --name ${name} --secret-string ${value}${inRegion}`;
    return { spec, file, written: !exists || values.force === true, command };
  });

  if (values.json) {
    const listed = written.map(({ spec, file, written: w, command }) => ({
      name: spec.name,
      purpose: spec.purpose,
      file: shown(io, file),
      written: w,
      template: spec.template,
      command,
    }));
    print(io.stdout, JSON.stringify({ stage, region: region?.name, out: shown(io, outDir), secrets: listed }));
    return EXIT.ok;
  }
  const kept = written.filter((entry) => !entry.written).length;
  print(
    io.stdout,
    `${plural(specs.length, 'secret template')} for stage ${stage} in ${shown(io, outDir)}/${kept > 0 ? ` (${kept} kept as they were; --force overwrites)` : ''}:`,
  );
  print(
    io.stdout,
    table(
      written.map(({ spec, file, written: w }) => [
        path.basename(file),
        spec.name,
        spec.purpose + (w ? '' : ' (kept)'),
      ]),
    ),
  );
  print(io.stdout);
  for (const spec of outsideStage(specs, stage)) {
    print(
      io.stdout,
      `warning: ${spec.name} is outside contact-relay/${stage}/: the functions may not read it; rename it in config/routes.json`,
    );
  }
  if (stage === LOCAL_STAGE || region === undefined) {
    const file = 'local/secrets.json (or the LOCAL_SECRETS_FILE it names)';
    print(io.stdout, `Stage local reads ${file}, which npm start serves as Secrets Manager: put these values there.`);
    print(io.stdout, 'For AWS, name a deployed stage with --stage.');
    return EXIT.ok;
  }
  print(io.stdout, `Fill in every <…> value, then create the secrets with AWS credentials of the target account,`);
  print(io.stdout, `in region ${describeRegion(region)}:`);
  print(io.stdout);
  for (const { command } of written) print(io.stdout, `  ${command}`);
  print(io.stdout);
  print(io.stdout, 'A secret that exists already is updated with:');
  print(io.stdout, `  aws secretsmanager put-secret-value --secret-id <name> --secret-string file://<file>${inRegion}`);
  print(io.stdout, `Then check everything: contact-relay doctor --stage ${stage}${inRegion}`);
  print(io.stdout, 'Once filled in, these files hold keys: keep them out of git and delete them after.');
  return EXIT.ok;
}
