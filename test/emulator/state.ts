/**
 * The emulator's memory: what it received, which faults are armed, which
 * contacts exist, which credentials are valid. Kept in one object so tests
 * can inspect it in-process and the inspection API can serve it.
 */
export const EMULATED_PROVIDERS = ['twochat', 'kirim', 'callbell', 'chatwoot'] as const;
export type EmulatedProvider = (typeof EMULATED_PROVIDERS)[number];
export type RecordedService = EmulatedProvider | 'secretsmanager' | 'shopify';

export interface RecordedRequest {
  provider: RecordedService;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
  status: number;
  at: string;
}

export interface Fault {
  provider: EmulatedProvider;
  /** Answer with this status instead of serving the request; omit with delayMs to only delay. */
  status?: number;
  times: number;
  retryAfterSeconds?: number;
  /** Hold the answer this long (a hung provider when longer than the client's timeout). */
  delayMs?: number;
  /** Destroy the connection without answering. */
  reset?: boolean;
  /** Only requests with this method (e.g. POST, to hit the create and not a lookup). */
  method?: string;
}

export interface EmulatedContact {
  id: string;
  provider: EmulatedProvider;
  /** Scope inside the provider: 2Chat key, Kirim phone_number_id, Chatwoot account id. */
  scope: string;
  name?: string;
  email?: string;
  phone?: string;
  identifier?: string;
  raw: Record<string, unknown>;
  createdAt: string;
}

/** Which secret values each emulated provider accepts as valid credentials. */
export type Credentials = Record<EmulatedProvider, Set<string>>;

export class EmulatorState {
  requests: RecordedRequest[] = [];
  faults: Fault[] = [];
  contacts: EmulatedContact[] = [];
  credentials: Credentials = { twochat: new Set(), kirim: new Set(), callbell: new Set(), chatwoot: new Set() };
  secrets = new Map<string, string>();
  /** AWS calls passed to the backends, by `X-Amz-Target` (e.g. `DynamoDB_20120810.UpdateItem`): what a run costs. */
  awsCalls = new Map<string, number>();
  #nextId = 1;

  nextId(): number {
    return this.#nextId++;
  }

  /** Take the next armed fault for a provider, counting it down. */
  takeFault(provider: EmulatedProvider, method: string): Fault | undefined {
    const fault = this.faults.find((candidate) => candidate.provider === provider && candidate.times > 0 && (candidate.method === undefined || candidate.method === method));
    if (fault === undefined) return undefined;
    fault.times -= 1;
    if (fault.times === 0) this.faults.splice(this.faults.indexOf(fault), 1);
    return fault;
  }

  reset(): void {
    this.awsCalls.clear();
    this.requests = [];
    this.faults = [];
    this.contacts = [];
  }
}

/** Auth headers are recorded masked: the inspection API must not leak keys. */
const AUTH_HEADERS = new Set(['authorization', 'x-user-api-key', 'api_access_token', 'api-access-token', 'x-amz-security-token', 'x-shopify-access-token']);

export function maskHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : value;
    out[name] = AUTH_HEADERS.has(name.toLowerCase()) ? mask(text) : text;
  }
  return out;
}

function mask(value: string): string {
  const bearer = value.match(/^(Bearer|AWS4-HMAC-SHA256)\s+/i);
  const prefix = bearer ? bearer[0] : '';
  const secret = value.slice(prefix.length);
  return `${prefix}${secret.length > 4 ? `${'*'.repeat(8)}${secret.slice(-4)}` : '****'}`;
}
