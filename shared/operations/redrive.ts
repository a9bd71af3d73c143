/**
 * Scheduled redrive: move dead-lettered delivery jobs back to the delivery
 * queue with SQS's own message-move task, but only when there is something
 * to move, no move is already running, and every provider account answers
 * its health check. Redriving while a provider is still down, or still
 * refuses a key, would only send the jobs through maxReceiveCount failed
 * attempts and back to the DLQ. A refused key is never a final outcome
 * (delivery keeps it retryable), so the jobs sent while it was wrong wait
 * here until the secret holds the right key and the health check passes.
 */
import {
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  StartMessageMoveTaskCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { AccountHealth } from './healthcheck.js';

interface RedriveOptions {
  sqs: Pick<SQSClient, 'send'>;
  /** The delivery queue: where the jobs go back to. */
  queueArn: string;
  dlqUrl: string;
  dlqArn: string;
  /** Provider health, checked only when there is something to move. */
  checkHealth: () => Promise<AccountHealth[]>;
}

export type RedriveReport =
  | {
      /** ApproximateNumberOfMessages of the DLQ when the task started (SQS counts are approximate). */
      dlqMessages: number;
      started: true;
      taskHandle: string;
    }
  | {
      dlqMessages: number;
      started: false;
      reason: string;
      /** Set when a move is already in progress. */
      runningTaskHandle?: string;
      /** Set when providers held the redrive back. */
      unhealthy?: Array<Pick<AccountHealth, 'account' | 'provider' | 'status'>>;
    };

export async function redriveDeadLetters(options: RedriveOptions): Promise<RedriveReport> {
  const { sqs, queueArn, dlqUrl, dlqArn } = options;

  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  const dlqMessages = Number(attributes.Attributes?.['ApproximateNumberOfMessages'] ?? 0);
  if (!Number.isFinite(dlqMessages) || dlqMessages <= 0)
    return { dlqMessages: 0, started: false, reason: 'dead-letter queue is empty' };

  // SQS allows one active move per source queue; a second StartMessageMoveTask would be refused.
  const tasks = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: dlqArn, MaxResults: 10 }));
  const running = tasks.Results?.find((task) => task.Status === 'RUNNING');
  if (running !== undefined) {
    return {
      dlqMessages,
      started: false,
      reason: `a message move task is already running for the dead-letter queue (${running.ApproximateNumberOfMessagesMoved ?? 0} of ${running.ApproximateNumberOfMessagesToMove ?? '?'} moved)`,
      ...(running.TaskHandle !== undefined ? { runningTaskHandle: running.TaskHandle } : {}),
    };
  }

  const unhealthy = (await options.checkHealth())
    .filter((health) => !health.healthy)
    .map(({ account, provider, status }) => ({ account, provider, status }));
  if (unhealthy.length > 0) {
    const names = unhealthy.map((health) => `${health.account} (${health.status})`).join(', ');
    return {
      dlqMessages,
      started: false,
      reason: `provider accounts not healthy: ${names}; the jobs stay in the dead-letter queue until providers answer again`,
      unhealthy,
    };
  }

  // DestinationArn is given rather than left to SQS's "back to the source queue": the
  // DLQ's only source is the delivery queue, and naming it keeps the move explicit.
  const started = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: dlqArn, DestinationArn: queueArn }));
  if (started.TaskHandle === undefined) throw new Error('StartMessageMoveTask answered without a TaskHandle');
  return { dlqMessages, started: true, taskHandle: started.TaskHandle };
}
