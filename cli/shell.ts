/** One argument for a POSIX shell, quoted only when it must be. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** ` --region R`, so a command runs where the stack is whatever the shell's AWS settings say. */
export const regionArgument = (region: string | undefined): string =>
  region === undefined ? '' : ` --region ${shellQuote(region)}`;

/** `aws secretsmanager create-secret` for a secret, its value given inline. */
export function createSecretCommand(name: string, value: unknown, region?: string): string {
  const secret = shellQuote(JSON.stringify(value));
  const id = shellQuote(name);
  return `aws secretsmanager create-secret --name ${id} --secret-string ${secret}${regionArgument(region)}`;
}

export function putSecretCommand(name: string, value: unknown, region?: string): string {
  const secret = shellQuote(JSON.stringify(value));
  const id = shellQuote(name);
  return `aws secretsmanager put-secret-value --secret-id ${id} --secret-string ${secret}${regionArgument(region)}`;
}
