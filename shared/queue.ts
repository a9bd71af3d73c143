/** The delivery queue (SQS standard): ingest and reconcile put jobs on it; deliver puts deferred jobs back. */
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { encodeDeliveryJob, type DeliveryJob } from './jobs.js';

export interface JobQueue {
  /** Throws JobTooLargeError, before any call, for a job over MAX_JOB_BYTES. */
  send(job: DeliveryJob): Promise<void>;
}

/** What deliver needs of the queues to defer a job, and to end one whose real attempts are spent. */
export interface DeferralQueue {
  /** The job back on the delivery queue, received no sooner than `delaySeconds` (0–900) from now. */
  sendLater(job: DeliveryJob, delaySeconds: number): Promise<void>;
  /** The job in the dead-letter queue, where redrive finds it as it finds the jobs SQS moved there. */
  deadLetter(job: DeliveryJob): Promise<void>;
  /**
   * The delivery queue's maxReceiveCount (its redrive policy; undefined without one) and visibility timeout,
   * read once.
   */
  settings(): Promise<QueueSettings>;
}

export interface QueueSettings {
  maxReceiveCount: number | undefined;
  visibilityTimeoutSeconds: number;
}

export function createSqsQueue(queueUrl: string, client: SQSClient = new SQSClient({})): JobQueue {
  return {
    async send(job) {
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: encodeDeliveryJob(job) }));
    },
  };
}

export function createDeferralQueue(
  urls: { queueUrl: string; dlqUrl: string },
  client: SQSClient = new SQSClient({}),
): DeferralQueue {
  let settings: Promise<QueueSettings> | undefined;
  return {
    async sendLater(job, delaySeconds) {
      if (!Number.isInteger(delaySeconds) || delaySeconds < 0 || delaySeconds > 900)
        throw new RangeError(`sendLater: DelaySeconds must be a whole number from 0 to 900, not ${delaySeconds}`);
      const body = encodeDeliveryJob(job);
      await client.send(
        new SendMessageCommand({ QueueUrl: urls.queueUrl, MessageBody: body, DelaySeconds: delaySeconds }),
      );
    },
    async deadLetter(job) {
      await client.send(new SendMessageCommand({ QueueUrl: urls.dlqUrl, MessageBody: encodeDeliveryJob(job) }));
    },
    settings() {
      const names = ['RedrivePolicy', 'VisibilityTimeout'] as const;
      settings ??= client
        .send(new GetQueueAttributesCommand({ QueueUrl: urls.queueUrl, AttributeNames: [...names] }))
        .then(({ Attributes = {} }) => {
          const policy = Attributes['RedrivePolicy'];
          const count =
            policy === undefined
              ? Number.NaN
              : Number((JSON.parse(policy) as { maxReceiveCount?: unknown }).maxReceiveCount);
          return {
            maxReceiveCount: Number.isInteger(count) && count > 0 ? count : undefined,
            // SQS's default, should the attribute be missing (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html).
            visibilityTimeoutSeconds: Number(Attributes['VisibilityTimeout'] ?? 30),
          };
        })
        .catch((error: unknown) => {
          settings = undefined; // read again next time
          throw error;
        });
      return settings;
    },
  };
}
