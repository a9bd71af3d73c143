/**
 * The alarms see what the functions really write. The real handlers run
 * against the local pipeline with logs and metrics on; their output goes
 * through the metric filters of infra/monitoring.yml, or is read as the
 * Embedded Metric Format lines CloudWatch turns into metrics, and each alarm
 * must watch the metric (namespace, name, dimensions) that comes out:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 * The saved Logs Insights queries (and so the dashboard's log widgets, which run
 * the same text) are run over the lines the real deliver function writes.
 */
import { readFileSync } from 'node:fs';
import { ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { metricsNamespace } from '../../shared/logging.js';
import { httpApiEvent, lambdaContext } from '../../local/lambda.js';
import { runQuery, savedQueries, type Row } from '../helpers/logs-insights.js';
import { jsonLines, monitoringFilters, publish } from '../helpers/metric-filters.js';
import { eventually, STAGE, startPipeline, type Pipeline } from '../helpers/pipeline.js';

let pipeline: Pipeline;
const output: string[] = [];

beforeAll(async () => {
  pipeline = await startPipeline({ logLevel: 'INFO' });
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
  }
});
afterAll(async () => {
  vi.restoreAllMocks();
  await pipeline.close();
});

interface Alarm {
  Namespace: string;
  MetricName: string;
  Dimensions?: Array<{ Name: string; Value: unknown }>;
  Statistic: string;
  Threshold: number;
  ComparisonOperator: string;
}

/** The alarms of infra/monitoring.yml for a stage, by logical id. */
function alarms(stage: string): Record<string, Alarm> {
  const file = new URL('../../infra/monitoring.yml', import.meta.url);
  const text = readFileSync(file, 'utf8').replaceAll('${sls:stage}', stage);
  const resources = (parse(text) as { Resources: Record<string, { Type: string; Properties: Alarm }> }).Resources;
  const found = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');
  return Object.fromEntries(found.map(([id, r]) => [id, r.Properties]));
}

/** Lines written while `run` ran. */
async function during(run: () => Promise<unknown>): Promise<Array<Record<string, unknown>>> {
  const from = output.length;
  await run();
  return jsonLines(output.slice(from));
}

describe('Monitoring of the local pipeline', () => {
  it('alarms when reconcile cannot read a route, which it logs and returns from normally', async () => {
    const secretName = `contact-relay/${STAGE}/shopify-admin/default`;
    const secret = pipeline.emulator.state.secrets.get(secretName)!;
    pipeline.emulator.state.secrets.delete(secretName);
    let reports: Awaited<ReturnType<Pipeline['reconcile']>> = [];
    const failed = await during(async () => {
      reports = await pipeline.reconcile({}, lambdaContext('contact-relay-itest-reconcile'));
    });
    pipeline.emulator.state.secrets.set(secretName, secret);
    expect(reports.map((report) => [report.route, report.errorCode])).toEqual([['default', 'SecretNotFoundError']]);

    const filters = monitoringFilters(STAGE);
    const metric = `${metricsNamespace(STAGE)} ReconcileRouteFailed`;
    expect(Object.fromEntries(publish(filters, 'ReconcileLogGroup', failed))).toEqual({ [metric]: 1 });
    const alarm = alarms(STAGE)['ReconcileFailedAlarm']!;
    expect(`${alarm.Namespace} ${alarm.MetricName}`).toBe(metric);
    expect([alarm.Dimensions, alarm.Statistic, alarm.ComparisonOperator, alarm.Threshold]).toEqual([
      undefined,
      'Sum',
      'GreaterThanOrEqualToThreshold',
      1,
    ]);

    // A run that reads the route is not counted.
    const done = await during(() => pipeline.reconcile({}, lambdaContext('contact-relay-itest-reconcile')));
    expect(done.some((line) => line['message'] === 'reconcile route done')).toBe(true);
    expect(publish(filters, 'ReconcileLogGroup', done).size).toBe(0);
  });

  it('writes the health check metric in the stage namespace its alarm watches', async () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const { handler } = await import('../../functions/healthcheck/handler.js');
    const secretName = `contact-relay/${STAGE}/provider/kirim`;
    const secret = pipeline.emulator.state.secrets.get(secretName)!;
    pipeline.emulator.state.secrets.delete(secretName);
    const lines = await during(() => handler({}, lambdaContext('contact-relay-itest-healthcheck')));
    pipeline.emulator.state.secrets.set(secretName, secret);

    const emf = lines.filter((line) => line['_aws'] !== undefined && 'ProviderCredentialsFailing' in line);
    expect(emf).toHaveLength(1);
    type Directive = { Namespace: string; Dimensions: string[][] };
    const directive = (emf[0]!['_aws'] as { CloudWatchMetrics: Directive[] }).CloudWatchMetrics[0]!;
    expect(directive.Namespace).toBe(`ContactRelay/${STAGE}`);
    expect([emf[0]!['ProviderCredentialsFailing'], emf[0]!['service']]).toEqual([1, 'contact-relay']);

    const alarm = alarms(STAGE)['ProviderCredentialsFailingAlarm']!;
    expect([alarm.Namespace, alarm.MetricName]).toEqual([directive.Namespace, 'ProviderCredentialsFailing']);
    expect(directive.Dimensions).toEqual([alarm.Dimensions!.map((dimension) => dimension.Name)]);
    expect(alarm.Dimensions).toEqual([{ Name: 'service', Value: 'contact-relay' }]);
  });

  it('keeps every custom metric of two stages apart: each stage has its own namespace', () => {
    for (const stage of ['dev', 'prod']) {
      const custom = Object.values(alarms(stage))
        .map((alarm) => alarm.Namespace)
        .filter((namespace) => !namespace.startsWith('AWS/'));
      const namespaces = new Set([...monitoringFilters(stage).map((filter) => filter.namespace), ...custom]);
      expect([...namespaces]).toEqual([metricsNamespace(stage)]);
    }
    expect(metricsNamespace('dev')).not.toBe(metricsNamespace('prod'));
  });
});

// ---------------------------------------------------------------- Logs Insights

/** A plain form lead accepted by the forms function: its event key. */
async function acceptLead(key: string, fields: Record<string, string>): Promise<string> {
  const headers = { 'content-type': 'application/json', 'idempotency-key': `insights-${key}` };
  const event = httpApiEvent('form', 'default', JSON.stringify({ name: `Insights ${key}`, ...fields }), headers);
  const answer = await pipeline.forms(event, lambdaContext());
  expect(answer.statusCode).toBe(200);
  return (JSON.parse(String(answer.body)) as { eventKey: string }).eventKey;
}

/** The delivery queue's message for the event (others come back after the 1 s visibility timeout). */
async function queuedJob(eventKey: string): Promise<Message> {
  return eventually(async () => {
    const { Messages = [] } = await pipeline.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: pipeline.resources.queueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const found = Messages.find((message) => JSON.parse(message.Body ?? '{}').eventKey === eventKey);
    expect(found, `job of ${eventKey}`).toBeDefined();
    return found!;
  });
}

/** The deliver function's lines for one receive of the message, as the event source mapping hands it over. */
async function deliver(message: Message, body = message.Body ?? ''): Promise<Array<Record<string, unknown>>> {
  const record: SQSRecord = {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body,
    attributes: {
      ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'local',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: pipeline.resources.queueArn,
    awsRegion: 'us-east-1',
  };
  return during(() => pipeline.deliver({ Records: [record] }, lambdaContext('contact-relay-itest-deliver')));
}

const pick = (rows: Row[], ...columns: string[]) =>
  rows.map((row) => Object.fromEntries(columns.map((column) => [column, row[column]])));

describe('Logs Insights queries of the deliver logs', () => {
  it('are saved per stage against the deliver log group only', () => {
    const queries = savedQueries(STAGE);
    expect(queries.map((query) => query.name).sort()).toEqual(
      [
        'dead-lettered-events',
        'deferred-by-account',
        'failures-by-provider-code',
        'outcomes-per-provider',
        'top-skip-reasons',
      ].map((name) => `contact-relay/${STAGE}/${name}`),
    );
    for (const query of queries) expect(query.logGroups, query.id).toEqual(['DeliverLogGroup']);
  });

  it('answer outcomes per provider, skip reasons, failures by code, deferrals and dead letters from real lines', async () => {
    const state = pipeline.emulator.state;
    const lines: Array<Record<string, unknown>> = [];
    const run = async (key: string, fields: Record<string, string>, body?: (job: string) => string) => {
      const message = await queuedJob(await acceptLead(key, fields));
      lines.push(...(await deliver(message, body?.(message.Body ?? ''))));
    };
    // Every provider creates the person.
    await run('created', { email: 'insights.created@example.com', phone: '+1 415 555 0161' });
    // No phone: the WhatsApp-only providers skip the person, with their reason.
    await run('skipped', { email: 'insights.skipped@example.com' });
    // Kirim refuses the create for good, with its error code.
    state.faults.push({ provider: 'kirim', status: 400, method: 'POST', times: 1 });
    await run('failed', { email: 'insights.failed@example.com', phone: '+1 415 555 0163' });
    // Callbell is down on a job whose earlier receives failed four times: the fifth failure is its last.
    state.faults.push({ provider: 'callbell', status: 503, times: 100 });
    const lastAttempt = (job: string) =>
      JSON.stringify({ ...JSON.parse(job), deferral: { attempts: 4, throttles: 0, done: [], booked: {} } });
    await run('dead', { email: 'insights.dead@example.com', phone: '+1 415 555 0164' }, lastAttempt);
    state.faults.splice(0);
    // 2Chat answers 429: the account waits, the job is deferred.
    state.faults.push({ provider: 'twochat', status: 429, times: 1, retryAfterSeconds: 1 });
    await run('deferred', { email: 'insights.deferred@example.com', phone: '+1 415 555 0165' });
    state.faults.splice(0);

    const byName = new Map(savedQueries(STAGE).map((query) => [query.name.split('/').at(-1)!, query.query]));
    const query = (name: string) => runQuery(byName.get(name)!, lines);

    // Outcomes per provider: one series per provider and status, in 5-minute bins.
    const outcomes = query('outcomes-per-provider');
    for (const row of outcomes) expect(Date.parse(String(row['bin(5m)'])) % 300_000).toBe(0);
    const totals: Record<string, number> = {};
    for (const row of outcomes)
      totals[String(row['outcome'])] = (totals[String(row['outcome'])] ?? 0) + Number(row['outcomes']);
    expect(totals).toEqual({
      'twochat created': 4,
      'kirim created': 3,
      'kirim skipped': 1,
      'kirim failed': 1,
      'callbell created': 3,
      'callbell skipped': 1,
      'callbell transient': 1,
      'chatwoot created': 5,
    });

    const skips = query('top-skip-reasons');
    expect(
      pick(skips, 'provider', 'skipped').sort((a, b) => String(a['provider']).localeCompare(String(b['provider']))),
    ).toEqual([
      { provider: 'callbell', skipped: 1 },
      { provider: 'kirim', skipped: 1 },
    ]);
    for (const row of skips) expect(row['reason']).toMatch(/phone/i);

    expect(pick(query('failures-by-provider-code'), 'provider', 'status', 'providerCode', 'outcomes')).toEqual(
      expect.arrayContaining([
        { provider: 'kirim', status: 'failed', providerCode: 'internal_error', outcomes: 1 },
        { provider: 'callbell', status: 'transient', providerCode: 'none', outcomes: 1 },
      ]),
    );
    expect(query('failures-by-provider-code')).toHaveLength(2);

    expect(pick(query('deferred-by-account'), 'account', 'reason', 'deferred')).toEqual([
      { account: 'twochat', reason: 'rate_limited', deferred: 1 },
    ]);

    const dead = query('dead-lettered-events');
    expect(pick(dead, 'eventKey', 'attempts')).toEqual([{ eventKey: 'form:default:insights-dead', attempts: 5 }]);
    expect(JSON.parse(String(dead[0]!['@message']))).toMatchObject({ pendingAccounts: ['callbell'] });
  }, 60_000);
});
