/**
 * The jobs parked in the delivery dead-letter queue, read without consuming them. SQS has no "peek": a
 * job is read by receiving it, which hides it for the visibility timeout; every job read is made visible
 * again (ChangeMessageVisibility 0) unless the caller moves or deletes it, so listing leaves the queue as
 * it was for the scheduled redrive.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { encodeDeliveryJob, parseDeliveryJob, type DeliveryJob } from '../shared/jobs.js';

/** Long enough to look a few hundred jobs up in the table before they are released or moved. */
const HOLD_SECONDS = 120;
/** The most jobs read at once: a listing, not a drain. */
export const MAX_PARKED = 1_000;

export interface ParkedJob {
  messageId: string;
  receiptHandle: string;
  /** The job, or why its body is not one. */
  job: DeliveryJob | { invalid: string };
  body: string;
}

/** Every job in the queue (up to MAX_PARKED), held hidden until `release` or `remove`. */
export async function receiveParked(sqs: SQSClient, dlqUrl: string): Promise<ParkedJob[]> {
  const jobs = new Map<string, ParkedJob>();
  while (jobs.size < MAX_PARKED) {
    // Long polling (WaitTimeSeconds > 0) asks every server, so an empty answer means the queue is empty;
    // a short poll samples some servers and may answer empty while jobs are there:
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/best-practices-setting-up-long-polling.html
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: HOLD_SECONDS,
        WaitTimeSeconds: 1,
      }),
    );
    if (Messages.length === 0) break;
    for (const message of Messages) {
      if (message.MessageId === undefined || message.ReceiptHandle === undefined) continue;
      const body = message.Body ?? '';
      let job: ParkedJob['job'];
      try {
        job = parseDeliveryJob(body);
      } catch (error) {
        job = { invalid: (error as Error).message };
      }
      jobs.set(message.MessageId, { messageId: message.MessageId, receiptHandle: message.ReceiptHandle, job, body });
    }
  }
  return [...jobs.values()];
}

/** Visible again at once, for redrive and the next listing. */
export async function release(sqs: SQSClient, dlqUrl: string, jobs: readonly ParkedJob[]): Promise<void> {
  for (let start = 0; start < jobs.length; start += 10) {
    const batch = jobs.slice(start, start + 10);
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: dlqUrl,
        Entries: batch.map((job, index) => ({
          Id: String(index),
          ReceiptHandle: job.receiptHandle,
          VisibilityTimeout: 0,
        })),
      }),
    );
  }
}

export async function remove(sqs: SQSClient, dlqUrl: string, job: ParkedJob): Promise<void> {
  await sqs.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: job.receiptHandle }));
}

/**
 * Back on the delivery queue now, then out of the dead-letter queue. Sent without what a deferral carried,
 * as deliver dead-letters a job: a redrive starts its attempts afresh. Sent first, deleted second: a failure
 * between the two leaves the job in both queues, and its second delivery finds its accounts settled.
 */
export async function moveBack(
  sqs: SQSClient,
  urls: { queueUrl: string; dlqUrl: string },
  job: ParkedJob,
): Promise<void> {
  const body = 'invalid' in job.job ? job.body : encodeDeliveryJob(withoutDeferral(job.job));
  await sqs.send(new SendMessageCommand({ QueueUrl: urls.queueUrl, MessageBody: body }));
  await remove(sqs, urls.dlqUrl, job);
}

function withoutDeferral(job: DeliveryJob): DeliveryJob {
  const { deferral: _spent, ...accepted } = job;
  return accepted;
}
