/**
 * The alarms see what the functions really write. The real handlers run
 * against the local pipeline with logs and metrics on; their output goes
 * through the metric filters of infra/monitoring.yml, or is read as the
 * Embedded Metric Format lines CloudWatch turns into metrics, and each alarm
 * must watch the metric (namespace, name, dimensions) that comes out:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { metricsNamespace } from '../../shared/logging.js';
import { lambdaContext } from '../../local/lambda.js';
import { jsonLines, monitoringFilters, publish } from '../helpers/metric-filters.js';
import { STAGE, startPipeline, type Pipeline } from '../helpers/pipeline.js';

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
