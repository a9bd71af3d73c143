/**
 * Property tests explore new inputs on every local run, so they keep finding
 * things; in CI (CI=true) they replay one fixed seed, so a landing is never
 * blocked by a new random find. FC_SEED replays any failure a run reports.
 */
import fc from 'fast-check';

const seed = process.env['FC_SEED'] ?? (process.env['CI'] ? '20261121' : undefined);
if (seed !== undefined) fc.configureGlobal({ seed: Number(seed) });
