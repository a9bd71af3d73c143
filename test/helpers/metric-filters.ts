/**
 * The metric filters of infra/monitoring.yml applied to JSON log lines, as
 * CloudWatch Logs applies them: each matching line adds the metric value,
 * under the dimension values read from the line.
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-logs-metricfilter-dimension.html
 *
 * Only the form these filters use is understood: `{ $.a = "x" }` or
 * `{ ($.a = "x") && ($.b = "y") }`, equality on top-level fields. Any other
 * pattern throws, so a new kind of filter is taught here before it is trusted.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface MetricFilter {
  id: string;
  logGroup: string;
  pattern: string;
  namespace: string;
  metric: string;
  value: string;
  dimensions: Array<{ Key: string; Value: string }>;
}

/** Every AWS::Logs::MetricFilter of infra/monitoring.yml, with `${sls:stage}` as `stage`. */
export function monitoringFilters(stage: string): MetricFilter[] {
  const file = new URL('../../infra/monitoring.yml', import.meta.url);
  const text = readFileSync(file, 'utf8').replaceAll('${sls:stage}', stage);
  const template = parse(text) as { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::Logs::MetricFilter')
    .map(([id, { Properties: properties }]) => {
      const transformation = properties['MetricTransformations'][0];
      return {
        id,
        logGroup: properties['LogGroupName'].Ref as string,
        pattern: properties['FilterPattern'] as string,
        namespace: transformation.MetricNamespace as string,
        metric: transformation.MetricName as string,
        value: transformation.MetricValue as string,
        dimensions: (transformation.Dimensions ?? []) as Array<{ Key: string; Value: string }>,
      };
    });
}

const TERM = /^\(?\s*\$\.([A-Za-z0-9_]+)\s*=\s*"([^"]*)"\s*\)?$/;

export function matches(pattern: string, line: Record<string, unknown>): boolean {
  const body = /^\{(.*)\}$/s.exec(pattern.trim())?.[1];
  if (body === undefined) throw new Error(`not a JSON filter pattern: ${pattern}`);
  return body.split('&&').every((term) => {
    const match = TERM.exec(term.trim());
    if (match === null) throw new Error(`unsupported filter term "${term.trim()}" in ${pattern}`);
    return line[match[1]!] === match[2];
  });
}

/** The metric each filter publishes from these lines: `namespace metric dim=value…` → sum. */
export function publish(
  filters: MetricFilter[],
  logGroup: string,
  lines: Array<Record<string, unknown>>,
): Map<string, number> {
  const sums = new Map<string, number>();
  for (const filter of filters.filter((f) => f.logGroup === logGroup)) {
    for (const line of lines.filter((l) => matches(filter.pattern, l))) {
      const field = (value: string) => String(line[value.replace(/^\$\./, '')]);
      const dimensions = filter.dimensions.map(({ Key, Value }) => `${Key}=${field(Value)}`);
      const key = [filter.namespace, filter.metric, ...dimensions].join(' ');
      sums.set(key, (sums.get(key) ?? 0) + Number(filter.value));
    }
  }
  return sums;
}

/** The JSON lines among what a process wrote (Powertools writes one object per line). */
export function jsonLines(output: string[]): Array<Record<string, unknown>> {
  return output
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}
