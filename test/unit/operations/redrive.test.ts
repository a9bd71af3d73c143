/**
 * The redrive decisions the local queue cannot show: its emulated move tasks
 * finish before StartMessageMoveTask answers, so "a task is still running"
 * is played here by a client that answers from a script. The moves
 * themselves are tested against the local queue in
 * test/integration/redrive.test.ts.
 */
import {
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  StartMessageMoveTaskCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import type { AccountHealth } from '../../../shared/operations/healthcheck.js';
import { redriveDeadLetters } from '../../../shared/operations/redrive.js';

const queue = {
  queueArn: 'arn:aws:sqs:us-east-1:000000000000:contact-relay-test-delivery',
  dlqUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/contact-relay-test-delivery-dlq',
  dlqArn: 'arn:aws:sqs:us-east-1:000000000000:contact-relay-test-delivery-dlq',
};

interface Script {
  dlqMessages: number;
  tasks?: Array<{
    TaskHandle: string;
    Status: string;
    ApproximateNumberOfMessagesMoved?: number;
    ApproximateNumberOfMessagesToMove?: number;
  }>;
}

/** An SQS client answering the three calls redrive makes from a script, recording what it was sent. */
function scriptedSqs(script: Script): { sqs: Pick<SQSClient, 'send'>; sent: unknown[] } {
  const sent: unknown[] = [];
  const send = async (command: unknown): Promise<unknown> => {
    sent.push(command);
    if (command instanceof GetQueueAttributesCommand)
      return { Attributes: { ApproximateNumberOfMessages: String(script.dlqMessages) } };
    if (command instanceof ListMessageMoveTasksCommand) return { Results: script.tasks ?? [] };
    if (command instanceof StartMessageMoveTaskCommand) return { TaskHandle: 'handle-1' };
    throw new Error(`unexpected command ${String(command)}`);
  };
  return { sqs: { send } as unknown as Pick<SQSClient, 'send'>, sent };
}

const healthy: AccountHealth[] = [
  { account: 'kirim', provider: 'kirim', healthy: true, status: 'ok', httpStatus: 200 },
];

describe('Function: redriveDeadLetters', () => {
  it('does not start a second move while one is running, and does not check providers', async () => {
    const { sqs, sent } = scriptedSqs({
      dlqMessages: 40,
      tasks: [
        {
          TaskHandle: 'running-1',
          Status: 'RUNNING',
          ApproximateNumberOfMessagesMoved: 10,
          ApproximateNumberOfMessagesToMove: 50,
        },
      ],
    });
    let checks = 0;
    const report = await redriveDeadLetters({
      sqs,
      ...queue,
      checkHealth: async () => {
        checks++;
        return healthy;
      },
    });
    expect(report).toMatchObject({ dlqMessages: 40, started: false, runningTaskHandle: 'running-1' });
    expect(!report.started && report.reason).toContain('already running');
    expect(checks).toBe(0);
    expect(sent.some((command) => command instanceof StartMessageMoveTaskCommand)).toBe(false);
  });

  it('starts a move when earlier tasks have finished, from the DLQ to the delivery queue', async () => {
    const { sqs, sent } = scriptedSqs({ dlqMessages: 3, tasks: [{ TaskHandle: 'old', Status: 'COMPLETED' }] });
    const report = await redriveDeadLetters({ sqs, ...queue, checkHealth: async () => healthy });
    expect(report).toEqual({ dlqMessages: 3, started: true, taskHandle: 'handle-1' });
    const start = sent.find((command) => command instanceof StartMessageMoveTaskCommand) as StartMessageMoveTaskCommand;
    expect(start.input).toEqual({ SourceArn: queue.dlqArn, DestinationArn: queue.queueArn });
    const list = sent.find((command) => command instanceof ListMessageMoveTasksCommand) as ListMessageMoveTasksCommand;
    expect(list.input.SourceArn).toBe(queue.dlqArn);
  });

  it('lists every unhealthy account in the reason', async () => {
    const { sqs } = scriptedSqs({ dlqMessages: 2 });
    const report = await redriveDeadLetters({
      sqs,
      ...queue,
      checkHealth: async () => [
        ...healthy,
        {
          account: 'shop-2chat',
          provider: 'twochat',
          healthy: false,
          status: 'unauthorized',
          httpStatus: 401,
          message: 'refused',
        },
        { account: 'inbox', provider: 'chatwoot', healthy: false, status: 'secret_missing', message: 'no secret' },
      ],
    });
    expect(report).toMatchObject({
      started: false,
      unhealthy: [
        { account: 'shop-2chat', status: 'unauthorized' },
        { account: 'inbox', status: 'secret_missing' },
      ],
    });
    expect(!report.started && report.reason).toContain('shop-2chat (unauthorized), inbox (secret_missing)');
  });
});
