/** The delivery queue (SQS standard): ingest and reconcile put jobs on it. */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { encodeDeliveryJob, type DeliveryJob } from './jobs.js';

export interface JobQueue {
  /** Throws JobTooLargeError, before any call, for a job over MAX_JOB_BYTES. */
  send(job: DeliveryJob): Promise<void>;
}

export function createSqsQueue(queueUrl: string, client: SQSClient = new SQSClient({})): JobQueue {
  return {
    async send(job) {
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: encodeDeliveryJob(job) }));
    },
  };
}
