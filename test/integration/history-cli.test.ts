/**
 * trace, events and dlq against the local pipeline (the real handlers, dynalite and fauxqs behind the
 * emulator, the emulated providers): one event of each outcome kind traced as text and as JSON matching
 * the schema, a person found by email while no item of the table holds the email, and a dead-lettered
 * job listed, redriven and traced.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventsDocumentSchema, TraceDocumentSchema, type TraceDocument } from '../../cli/trace-schema.js';
import { main } from '../../cli/main.js';
import type { Io } from '../../cli/io.js';
import type { QueuePoller } from '../../local/emulator/queue-poller.js';
import { httpApiEvent, lambdaContext } from '../../local/lambda.js';
import { eventually, STAGE, startPipeline, type Pipeline } from '../helpers/pipeline.js';

let pipeline: Pipeline;
let poller: QueuePoller;
const LOOKUP_KEY = 'itest-lookup-key-0123456789abcdefghij';

beforeAll(async () => {
  pipeline = await startPipeline();
  pipeline.emulator.state.secrets.set(`contact-relay/${STAGE}/lookup-key`, JSON.stringify({ key: LOOKUP_KEY }));
  poller = pipeline.startPoller();
}, 60_000);
afterAll(async () => {
  await poller.stop();
  await pipeline.close();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI as a user runs it against this stage, its AWS calls going to the emulator. */
async function cli(...argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
    cwd: process.cwd(),
    now: () => new Date(),
  };
  const code = await main([...argv, '--stage', STAGE, '--emulator', pipeline.emulator.url], io);
  return { code, stdout, stderr };
}

async function traceJson(key: string): Promise<TraceDocument> {
  const run = await cli('trace', key, '--json');
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  const parsed = TraceDocumentSchema.safeParse(JSON.parse(run.stdout));
  expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  return parsed.data as TraceDocument;
}

/** A form webhook, answered; its event key. */
async function post(body: Record<string, unknown>, key: string): Promise<string> {
  const answer = await pipeline.forms(
    httpApiEvent('form', 'default', JSON.stringify(body), {
      'content-type': 'application/json',
      'idempotency-key': key,
    }),
    lambdaContext(),
  );
  expect(answer.statusCode).toBe(200);
  return (JSON.parse(answer.body as string) as { eventKey: string }).eventKey;
}

/** The event's accounts once none is in progress or transient. */
async function settled(key: string, accounts = 4): Promise<TraceDocument['events'][number]> {
  return eventually(async () => {
    const [event] = (await traceJson(key)).events;
    expect(
      event?.accounts.filter((account) => ['created', 'exists', 'skipped', 'failed'].includes(account.status)),
    ).toHaveLength(accounts);
    return event as TraceDocument['events'][number];
  }, 60_000);
}

const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** AWS calls the emulator refused a function, e.g. a secret its role does not grant: why an index was not written. */
const refused = () =>
  (pipeline.emulator.iam?.decisions ?? [])
    .filter((decision) => decision.decision !== 'allowed')
    .map((decision) => `${decision.function} ${decision.action} ${decision.resource}`);

const statusOf = (event: TraceDocument['events'][number]) =>
  Object.fromEntries(event.accounts.map((account) => [account.account, account.status]));

describe('contact-relay trace', () => {
  let created: string;

  it('created: received, queued and each account created with its contact id, as text and as JSON', async () => {
    created = await post({ name: 'Ada Lovelace', email: 'ada.trace@example.com', phone: '+14155550171' }, 'created-1');
    const event = await settled(created);
    expect(statusOf(event)).toEqual({ callbell: 'created', chatwoot: 'created', kirim: 'created', twochat: 'created' });
    expect(event.timeline.slice(0, 2).map((entry) => entry.kind)).toEqual(['received', 'queued']);
    expect(event.timeline[0]).toMatchObject({ source: 'form', route: 'default', answer: 'accepted' });
    for (const account of event.accounts) expect(account.providerContactId, account.account).toBeTruthy();

    const text = await cli('trace', created);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`Event ${created} (form/default)`);
    expect(text.stdout).toMatch(/received\s+form\/default, answered accepted/);
    expect(text.stdout).toMatch(/queued\s+on the delivery queue/);
    for (const account of event.accounts)
      expect(text.stdout).toMatch(new RegExp(`${account.account}\\s+created: contact ${account.providerContactId}`));
  });

  it('exists: the same person again is found at every provider, with the contact id', async () => {
    const again = await post(
      { name: 'Ada Lovelace', email: 'ada.trace@example.com', phone: '+14155550171' },
      'exists-1',
    );
    const event = await settled(again);
    expect(statusOf(event)).toEqual({ callbell: 'exists', chatwoot: 'exists', kirim: 'exists', twochat: 'exists' });
    expect((await cli('trace', again)).stdout).toMatch(/kirim\s+exists: contact \S+/);
  });

  it('skipped: an email-only contact is skipped by the WhatsApp providers, with the reason', async () => {
    const key = await post({ name: 'Mail Only', email: 'mail.only@example.com' }, 'skipped-1');
    const event = await settled(key);
    const skipped = event.accounts.filter((account) => account.status === 'skipped');
    expect(skipped.length).toBeGreaterThan(0);
    for (const account of skipped) expect(account.reason, account.account).toBeTruthy();
    const text = (await cli('trace', key)).stdout;
    for (const account of skipped)
      expect(text).toMatch(new RegExp(`${account.account}\\s+skipped: ${literal(account.reason ?? '')}`));
  });

  it("failed: a provider's permanent refusal, with its HTTP status and message", async () => {
    pipeline.emulator.state.faults.push({ provider: 'callbell', status: 422, times: 1 });
    const key = await post({ name: 'Refused Once', email: 'refused@example.com', phone: '+14155550172' }, 'failed-1');
    const event = await settled(key);
    const failed = event.accounts.find((account) => account.account === 'callbell');
    expect(failed).toMatchObject({ status: 'failed', httpStatus: 422 });
    expect((await cli('trace', key)).stdout).toMatch(/callbell\s+failed: HTTP 422/);
  });

  it("an email finds the person's events, newest first; a scan of the table finds the email and phone nowhere", async () => {
    const run = await cli('trace', 'ADA.trace@example.com', '--json');
    expect(run.code, `${run.stderr}; refused: ${refused().join('; ')}`).toBe(0);
    const document = TraceDocumentSchema.parse(JSON.parse(run.stdout));
    expect(document.query).toEqual({ kind: 'email', value: 'a***@example.com' });
    expect(document.events.map((event) => event.eventKey)).toContain(created);
    expect(document.events).toHaveLength(2);
    const byPhone = TraceDocumentSchema.parse(JSON.parse((await cli('trace', '+1 415 555 0171', '--json')).stdout));
    expect(byPhone.events.map((event) => event.eventKey).sort()).toEqual(document.events.map((e) => e.eventKey).sort());

    const dynamo = new DynamoDBClient({
      endpoint: pipeline.emulator.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    let everything = '';
    let start: Record<string, unknown> | undefined;
    do {
      const page = await dynamo.send(
        new ScanCommand({
          TableName: pipeline.resources.tableName,
          ...(start ? { ExclusiveStartKey: start as never } : {}),
        }),
      );
      everything += JSON.stringify(page.Items ?? []);
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    dynamo.destroy();
    expect(everything).toContain(created);
    expect(everything.toLowerCase()).not.toContain('ada.trace@example.com');
    expect(everything).not.toContain('4155550171');
  });

  it('an unknown event is a failure (exit 1); no argument is a usage error (exit 2)', async () => {
    const missing = await cli('trace', 'form:default:never-sent');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no event form:default:never-sent in contact-relay-itest-events');
    expect((await cli('trace')).code).toBe(2);
  });
});

describe('contact-relay dlq and events', () => {
  it('dead-lettered then redriven: dlq list names the job and its pending account, dlq redrive brings it back, trace shows both', async () => {
    pipeline.emulator.state.faults.push({ provider: 'kirim', status: 500, times: 100_000 });
    const key = await post({ name: 'Parked Person', email: 'parked@example.com', phone: '+14155550173' }, 'parked-1');
    await eventually(async () => {
      const [event] = (await traceJson(key)).events;
      expect(event?.parked).toBe(true);
    }, 60_000);

    const listed = await cli('dlq', 'list');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('1 job');
    expect(listed.stdout).toMatch(new RegExp(`${key}\\s+form/default\\s+kirim transient\\s+HTTP 500`));
    const listedJson = JSON.parse((await cli('dlq', 'list', '--json')).stdout) as {
      jobs: Array<{ eventKey: string; pending: Array<{ account: string }> }>;
    };
    expect(listedJson.jobs.map((job) => [job.eventKey, job.pending.map((account) => account.account)])).toEqual([
      [key, ['kirim']],
    ]);

    // --account picks only the jobs with that account pending.
    expect((await cli('dlq', 'redrive', '--account', 'twochat')).stdout).toContain('Moved 0 jobs');
    pipeline.emulator.state.faults = [];
    const redriven = await cli('dlq', 'redrive', '--account', 'kirim');
    expect(redriven.code).toBe(0);
    expect(redriven.stdout).toContain('Moved 1 job with kirim pending back to the delivery queue');

    const event = await settled(key);
    expect(event.parked).toBe(false);
    const kinds = event.timeline.map((entry) =>
      entry.kind === 'attempt' ? `${entry.account} ${entry.status}` : entry.kind,
    );
    const deadLettered = kinds.indexOf('dead-lettered');
    expect(deadLettered).toBeGreaterThan(0);
    expect(kinds.slice(deadLettered)).toEqual(['dead-lettered', 'redriven', 'kirim created']);
    expect(kinds.slice(0, deadLettered)).toContain('kirim transient');
    const text = (await cli('trace', key)).stdout;
    expect(text).toMatch(/dead-lettered\s+the job went to the dead-letter queue/);
    expect(text).toMatch(/redriven\s+the job came back from the dead-letter queue/);
    expect((await cli('dlq', 'list')).stdout).toContain('0 jobs');
  }, 120_000);

  it('dlq drop refuses without a terminal and without --yes (exit 2); with --yes it removes the job', async () => {
    await pipeline.sqs.send(new PurgeQueueCommand({ QueueUrl: pipeline.resources.dlqUrl }));
    pipeline.emulator.state.faults.push({ provider: 'chatwoot', status: 500, times: 100_000 });
    const key = await post({ name: 'Dropped Person', email: 'dropped@example.com', phone: '+14155550174' }, 'drop-1');
    await eventually(async () => expect((await traceJson(key)).events[0]?.parked).toBe(true), 60_000);
    pipeline.emulator.state.faults = [];

    const refused = await cli('dlq', 'drop', key);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('without a terminal, pass --yes');
    expect((await cli('dlq', 'list')).stdout).toContain(key);

    const dropped = await cli('dlq', 'drop', key, '--yes');
    expect(dropped.code).toBe(0);
    expect(dropped.stdout).toContain(`Removed the job of event ${key}`);
    expect((await cli('dlq', 'list')).stdout).toContain('0 jobs');
    expect((await cli('dlq', 'drop', key, '--yes')).code).toBe(1);
  }, 120_000);

  it('events lists the recent events with counts per outcome and provider, filtered by status', async () => {
    const all = await eventually(async () => {
      const run = await cli('events', '--since', '1h', '--json');
      expect(run.code).toBe(0);
      const document = EventsDocumentSchema.parse(JSON.parse(run.stdout));
      expect(document.events.length).toBeGreaterThanOrEqual(6);
      return document;
    });
    expect(all.counts.byStatus['created']?.['kirim']).toBeGreaterThanOrEqual(1);
    expect(all.counts.byStatus['failed']).toEqual({ callbell: 1 });
    expect(all.counts.deadLettered).toBe(2);

    const failed = EventsDocumentSchema.parse(JSON.parse((await cli('events', '--status', 'failed', '--json')).stdout));
    expect(
      failed.events.map((event) => event.accounts.find((account) => account.account === 'callbell')?.status),
    ).toEqual(['failed']);
    const text = await cli('events', '--status', 'dead-lettered');
    expect(text.stdout).toContain('2 events, 2 dead-lettered');
    expect(text.stdout).toMatch(/OUTCOME\s+/);
    expect((await cli('events', '--status', 'lost')).code).toBe(2);
  });
});
