/** One argument for a POSIX shell, quoted only when it must be. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `aws secretsmanager create-secret` for a secret, its value given inline. */
export function createSecretCommand(name: string, value: unknown): string {
  return `aws secretsmanager create-secret --name ${shellQuote(name)} --secret-string ${shellQuote(JSON.stringify(value))}`;
}

export function putSecretCommand(name: string, value: unknown): string {
  return `aws secretsmanager put-secret-value --secret-id ${shellQuote(name)} --secret-string ${shellQuote(JSON.stringify(value))}`;
}
