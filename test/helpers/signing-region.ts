/**
 * A proxy in front of the emulator's Secrets Manager that records the region
 * each request was signed for: the credential scope of its Signature Version 4
 * Authorization header, `Credential=<key>/<date>/<region>/secretsmanager/aws4_request`
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).
 * Point the SDK at it with AWS_ENDPOINT_URL_SECRETS_MANAGER = `url`.
 */
import http from 'node:http';

export interface SigningRegionProxy {
  url: string;
  /** One entry per request, in order: its signing region, or '' when it was not signed. */
  regions: string[];
  close(): Promise<void>;
}

export async function signingRegionProxy(target: string): Promise<SigningRegionProxy> {
  const regions: string[] = [];
  const proxy = http.createServer((incoming, outgoing) => {
    const scope = /Credential=[^/]+\/\d+\/([^/]+)\/secretsmanager\//.exec(incoming.headers.authorization ?? '');
    regions.push(scope?.[1] ?? '');
    const forward = http.request(target, { method: incoming.method, headers: incoming.headers }, (answer) => {
      outgoing.writeHead(answer.statusCode ?? 500, answer.headers);
      answer.pipe(outgoing);
    });
    incoming.pipe(forward);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as { port: number }).port}`,
    regions,
    close: () => new Promise((resolve) => proxy.close(() => resolve())),
  };
}
