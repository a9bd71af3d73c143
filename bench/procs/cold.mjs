// Cold init of one bundle in this fresh process: the time to import it (which,
// for a function, validates env and routes and builds its handler), its memory
// after init, and whether it tried to open any connection while initialising.
// With an event file (argv[3]), also the time of the first call of the handler
// with that event: what a cold start defers to its first request shows there.
// Plain JS and not bundled: nothing here may add to what is measured.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { pathToFileURL } from 'node:url';

let connects = 0;
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  connects++;
  return connect.apply(this, args);
};

const bundle = process.argv[2];
const cpu = process.cpuUsage();
const started = performance.now();
const mod = await import(pathToFileURL(bundle).href);
const importMs = performance.now() - started;
const used = process.cpuUsage(cpu);
// CPU time of the import (all threads: main, compiler and GC helpers): less sensitive to other load than wall time.
const importCpuMs = (used.user + used.system) / 1000;
if (typeof mod.handler !== 'function') throw new Error(`${bundle} exports no handler`);
let firstCallMs;
if (process.argv[3] !== undefined) {
  const event = JSON.parse(readFileSync(process.argv[3], 'utf8'));
  const context = { functionName: 'bench', awsRequestId: 'bench-first-call', getRemainingTimeInMillis: () => 10_000 };
  const callStarted = performance.now();
  await mod.handler(event, context);
  firstCallMs = performance.now() - callStarted;
}
// Anything the init scheduled (timers, promises) gets one turn of the event loop to show itself.
await new Promise((resolve) => setTimeout(resolve, 0));
const memory = process.memoryUsage();
process.send(
  {
    type: 'result',
    value: {
      importMs,
      importCpuMs,
      firstCallMs,
      connects,
      rssMb: memory.rss / 1048576,
      heapUsedMb: memory.heapUsed / 1048576,
      sinceProcessStartMs: performance.now(),
    },
  },
  () => process.exit(0),
);
