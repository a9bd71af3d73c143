import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { describeRefusal, postWebhook, readAnswer, UnreachableError } from '../../../cli/post.js';
import { freePort } from '../../../local/processes.js';

describe('readAnswer: the answers of the README table', () => {
  it.each([
    [202, '{"status":"accepted","eventKey":"form:default:x"}', 'accepted'],
    [200, '{"status":"duplicate","eventKey":"form:default:x"}', 'duplicate'],
    [200, '{"status":"ignored","reason":"webhook creation ping"}', 'ignored'],
    [200, '{"status":"skipped","reason":"no email or phone field found"}', 'skipped'],
    [401, '{"error":{"code":"invalid_signature","message":"nope"}}', 'rejected'],
    [503, 'Service Unavailable', 'rejected'],
  ] as const)('HTTP %i %s → %s', (status, body, outcome) => {
    expect(readAnswer(status, body).outcome).toBe(outcome);
  });

  it('a 2xx that is none of the answers is not taken for a success (serverless-offline reports a timed-out function under 200)', () => {
    const answer = readAnswer(200, '{"errorMessage":"[504] - Lambda timeout.","errorType":"LambdaTimeoutError"}');
    expect(answer.outcome).toBe('rejected');
    expect(answer.reason).toBe('unexpected answer: the function failed: [504] - Lambda timeout.');
  });

  it('describes a refusal with its status, code and message', () => {
    expect(
      describeRefusal(readAnswer(401, '{"error":{"code":"invalid_signature","message":"the header does not match"}}')),
    ).toBe('HTTP 401 invalid_signature: the header does not match');
  });
});

describe('postWebhook', () => {
  const signed = {
    path: '/hooks/form/default',
    headers: { 'content-type': 'application/json' },
    body: Buffer.from('{}'),
    proof: 'unsigned',
  };

  it('an unreachable host is an UnreachableError saying why, with the hint', async () => {
    const port = await freePort();
    await expect(postWebhook(`http://127.0.0.1:${port}`, signed, { unreachableHint: 'start it' })).rejects.toThrow(
      new UnreachableError(`cannot reach http://127.0.0.1:${port}/hooks/form/default: connection refused. start it`),
    );
  });

  it('retries 503 and 429 when asked, then reads the answer', async () => {
    let calls = 0;
    const server = createServer((request, response) => {
      calls += 1;
      request.resume();
      request.on('end', () => {
        if (calls < 3) response.writeHead(calls === 1 ? 503 : 429, { 'retry-after': '0' }).end('{}');
        else
          response.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"accepted","eventKey":"k"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const answer = await postWebhook(url, signed, { retries: 2 });
      expect([calls, answer.outcome, answer.eventKey]).toEqual([3, 'accepted', 'k']);
      calls = 0;
      expect((await postWebhook(url, signed)).httpStatus).toBe(503);
    } finally {
      server.close();
    }
  });
});
