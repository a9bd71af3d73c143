/**
 * Child processes of the bench: every measurement that needs a fresh heap
 * (cold init, memory, throughput) runs in its own Node process and reports
 * over the IPC channel; the emulator runs in a long-lived one the bench asks
 * for counts.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildOptions {
  args?: string[];
  /** Node flags (before the script). */
  nodeFlags?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
  /** Where the child's stdout goes; the functions log there. */
  stdout?: 'ignore' | 'inherit' | 'pipe';
  /** Requests from the child other than its result (e.g. "clear the emulators"); answer with `reply`. */
  onRequest?: (message: { type: string }, reply: (answer: unknown) => void) => void;
}

export interface ChildResult<T> {
  result: T;
  wallMs: number;
  code: number | null;
}

/** Run `script` in a fresh Node process and take the first `{type:'result'}` message it sends. */
export function runChild<T>(script: string, options: ChildOptions = {}): Promise<ChildResult<T>> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [...(options.nodeFlags ?? []), script, ...(options.args ?? [])], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', options.stdout ?? 'ignore', 'pipe', 'ipc'],
    });
    let result: { value: T } | undefined;
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (stderr.length > 20_000) stderr = stderr.slice(-20_000);
    });
    child.on('message', (message: { type?: string; value?: unknown; error?: string }) => {
      if (message.type === 'result') result = { value: message.value as T };
      else if (message.type === 'error') stderr += `\n${message.error}`;
      else if (message.type !== undefined)
        options.onRequest?.(message as { type: string }, (answer) => child.send(answer as object));
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`${script} ${options.args?.join(' ') ?? ''} took longer than ${options.timeoutMs} ms\n${stderr}`),
      );
    }, options.timeoutMs ?? 120_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      const wallMs = performance.now() - started;
      if (result === undefined)
        reject(
          new Error(`${script} ${options.args?.join(' ') ?? ''} exited (${code}) without a result\n${stderr.trim()}`),
        );
      else resolve({ result: result.value, wallMs, code });
    });
  });
}

/** A long-lived child answering `{id, cmd, args}` requests with `{id, value}` (or `{id, error}`). */
export interface ServiceChild {
  ready: Promise<unknown>;
  call<T>(cmd: string, args?: unknown): Promise<T>;
  stop(): Promise<void>;
  process: ChildProcess;
}

export function startServiceChild(script: string, options: ChildOptions = {}): ServiceChild {
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), script, ...(options.args ?? [])], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', options.stdout ?? 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    if (stderr.length > 20_000) stderr = stderr.slice(-20_000);
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let onReady: { resolve: (value: unknown) => void; reject: (error: Error) => void } | undefined;
  const ready = new Promise<unknown>((resolve, reject) => {
    onReady = { resolve, reject };
  });
  child.on('message', (message: { type?: string; id?: number; value?: unknown; error?: string }) => {
    if (message.type === 'ready') onReady?.resolve(message.value);
    else if (message.type === 'fatal') onReady?.reject(new Error(`${script}: ${message.error}`));
    else if (message.id !== undefined) {
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (message.error !== undefined) waiter?.reject(new Error(message.error));
      else waiter?.resolve(message.value);
    }
  });
  const exited = new Promise<void>((resolve) => {
    child.on('exit', (code) => {
      const error = new Error(`${script} exited (${code})\n${stderr.trim()}`);
      onReady?.reject(error);
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
      resolve();
    });
  });
  return {
    ready,
    process: child,
    call<T>(cmd: string, args?: unknown): Promise<T> {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ id, cmd, args });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.send({ id: 0, cmd: 'exit' });
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** In a child: ask the bench something (see ChildOptions.onRequest) and wait for the answer of that type. */
export function askBench<T>(type: string, answerType: string): Promise<T | undefined> {
  const send = process.send?.bind(process);
  if (send === undefined) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const onMessage = (message: { type?: string; value?: T }) => {
      if (message.type !== answerType) return;
      process.off('message', onMessage);
      resolve(message.value);
    };
    process.on('message', onMessage);
    send({ type });
  });
}

/** In a child: send the result to the bench and exit. */
export function reportResult(value: unknown): void {
  if (process.send === undefined) {
    console.log(JSON.stringify(value, null, 2));
    return;
  }
  process.send({ type: 'result', value }, () => process.exit(0));
}
