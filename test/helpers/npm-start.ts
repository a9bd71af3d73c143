/**
 * `npm start` as a user runs it (`tsx scripts/start.ts`), on free ports, for
 * the integration tests that drive the whole local stack.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForOutput } from '../../local/processes.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Variables that send the stack's calls to real accounts or read real keys:
 * a developer may have them exported, and a test must never inherit them.
 */
const REAL_ACCOUNT_VARIABLES = /^(PROVIDER_URL_[A-Z]+|SHOPIFY_ADMIN_URL|LOCAL_SECRETS_FILE)$/;

export interface NpmStart {
  child: ChildProcess;
  ports: { http: number; emulator: number; lambda: number };
  /** What it printed up to "Ctrl-C stops everything". */
  banner: string;
  /** Everything it printed so far: shown when a test fails, to say why. */
  output(): string;
  /** Invoke a function through serverless-offline's Lambda API, as EventBridge Scheduler would. */
  invoke(name: string, event?: unknown): Promise<unknown>;
  /** Ctrl-C as a user stops it, so it stops serverless-offline too; SIGKILL if it has not exited in 15 s. */
  stop(): Promise<void>;
}

/**
 * A free port is only free when it is picked: a test running beside this one may bind it before the stack
 * does (the internal serverless-offline port is picked by `npm start` itself). Such a start is tried again on
 * other ports; any other failure is the test's to report.
 */
export async function startNpmStart(env: NodeJS.ProcessEnv = {}): Promise<NpmStart> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(env);
    } catch (error) {
      if (attempt >= 3 || !/EADDRINUSE/.test((error as Error).message)) throw error;
    }
  }
}

async function startOnce(env: NodeJS.ProcessEnv): Promise<NpmStart> {
  const ports = { http: await freePort(), emulator: await freePort(), lambda: await freePort() };
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !REAL_ACCOUNT_VARIABLES.test(name)),
  );
  const child = spawn(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'scripts/start.ts'], {
    cwd: root,
    env: {
      ...inherited,
      PORT: String(ports.http),
      EMULATOR_PORT: String(ports.emulator),
      LAMBDA_PORT: String(ports.lambda),
      LOCAL_QUEUE_VISIBILITY_SECONDS: '2',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const banner = await waitForOutput(child, 'Ctrl-C stops everything', 120_000).catch((error: unknown) => {
    // The stack runs detached children: a start that failed on a taken port must not leave them behind.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    throw error;
  });
  return {
    child,
    ports,
    banner,
    output: () => output,
    invoke: async (name, event = {}) => {
      const url = `http://127.0.0.1:${ports.lambda}/2015-03-31/functions/contact-relay-local-${name}/invocations`;
      const response = await fetch(url, { method: 'POST', body: JSON.stringify(event) });
      return (await response.json()) as unknown;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
