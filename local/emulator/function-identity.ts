/**
 * Each function's own AWS identity when several functions run in one process
 * (the pipeline tests, the soak). Lambda hands each function the credentials
 * of its own role; here they all share one `process.env`. So each handler is
 * run through `asFunction(name, handler)`, and while it runs
 * `process.env.AWS_ACCESS_KEY_ID` reads `local-<name>`, which the emulator
 * evaluates against that function's role (local/emulator/iam.ts). The
 * functions' code is unchanged: the SDK's default credential chain reads the
 * variable when a client first signs a call, inside the handler, and keeps
 * what it read for that client, which belongs to that function alone.
 * https://docs.aws.amazon.com/sdk-for-javascript/v3/developer-guide/setting-credentials-node.html
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { functionAccessKeyId } from './iam.js';

const running = new AsyncLocalStorage<string>();

/**
 * Make `AWS_ACCESS_KEY_ID` follow the function running; returns the undo. Everything else reads and
 * writes the environment as before (process.env takes no getters, so it is wrapped instead).
 */
export function useFunctionCredentials(): () => void {
  const env = process.env;
  process.env = new Proxy(env, {
    get(target, key) {
      const fn = running.getStore();
      return key === 'AWS_ACCESS_KEY_ID' && fn !== undefined ? functionAccessKeyId(fn) : Reflect.get(target, key);
    },
    set(target, key, value) {
      return Reflect.set(target, key, value);
    },
  });
  return () => {
    process.env = env;
  };
}

/** `handler` run as function `fn` (a key of serverless.yml `functions`). */
export function asFunction<A extends unknown[], R>(
  fn: string,
  handler: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  return (...args) => running.run(fn, () => handler(...args));
}
