import type { HttpClient, HttpRequest, HttpResponse } from '../../shared/http.js';

/** An HTTP client answering each request from `answer` (an Error is thrown), and remembering the requests. */
export function scriptedHttp(answer: (request: HttpRequest, index: number) => HttpResponse | Error) {
  const requests: HttpRequest[] = [];
  const client: HttpClient = {
    request: async (request) => {
      requests.push(request);
      const result = answer(request, requests.length - 1);
      if (result instanceof Error) throw result;
      return result;
    },
    connectionsOpened: () => ({}),
    close: () => undefined,
  };
  return { client, requests };
}
