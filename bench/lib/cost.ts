/**
 * Cost per million webhooks (ingest + deliver) from measured durations and
 * the price list of the issue (us-east-1, arm64).
 */

export const PRICES = {
  lambdaGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  sqsPerMillionRequests: 0.4,
  httpApiPerMillionRequests: 1.0,
};

export interface CostInput {
  memoryMb: number;
  /** Billed duration of one ingest invocation (ms). */
  ingestMs: number;
  /** Billed duration of one deliver invocation carrying `jobsPerInvocation` jobs (ms). */
  deliverMs: number;
  jobsPerInvocation: number;
}

export interface CostLine {
  item: string;
  perMillion: number;
  basis: string;
}

/** Lambda bills every invocation's duration rounded up to the millisecond. */
const billedGbSeconds = (ms: number, memoryMb: number) => (Math.ceil(ms) / 1000) * (memoryMb / 1024);

export function costPerMillion(input: CostInput): { lines: CostLine[]; total: number } {
  const million = 1_000_000;
  const deliverInvocations = million / input.jobsPerInvocation;
  // SQS: one SendMessage per webhook; the event source mapping's ReceiveMessage and DeleteMessageBatch once per batch.
  const sqsRequests = million + 2 * deliverInvocations;
  const lines: CostLine[] = [
    { item: 'API Gateway HTTP API', perMillion: PRICES.httpApiPerMillionRequests, basis: '1 request per webhook' },
    {
      item: 'Lambda requests',
      perMillion: PRICES.lambdaPerMillionRequests * (1 + 1 / input.jobsPerInvocation),
      basis: `1 ingest + 1/${input.jobsPerInvocation} deliver invocations per webhook`,
    },
    {
      item: 'Lambda duration, ingest',
      perMillion: billedGbSeconds(input.ingestMs, input.memoryMb) * million * PRICES.lambdaGbSecond,
      basis: `${Math.ceil(input.ingestMs)} ms billed × ${input.memoryMb} MB`,
    },
    {
      item: 'Lambda duration, deliver',
      perMillion: billedGbSeconds(input.deliverMs, input.memoryMb) * deliverInvocations * PRICES.lambdaGbSecond,
      basis: `${Math.ceil(input.deliverMs)} ms billed per invocation of ${input.jobsPerInvocation} job(s) × ${input.memoryMb} MB`,
    },
    {
      item: 'SQS requests',
      perMillion: (sqsRequests / million) * PRICES.sqsPerMillionRequests,
      basis: `1 send + (1 receive + 1 delete) per batch of ${input.jobsPerInvocation}`,
    },
  ];
  return { lines, total: lines.reduce((sum, line) => sum + line.perMillion, 0) };
}
