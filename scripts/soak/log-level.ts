/**
 * Imported first by scripts/soak.ts, for its side effect: the functions' log level, before any module creates
 * the shared logger. Modules the soak itself imports (the store, for its lease) create it at evaluation, long
 * before the pipeline writes the functions' environment, and it would log every delivery at INFO.
 */
process.env['POWERTOOLS_LOG_LEVEL'] ??= process.env['DEBUG_LOGS'] ? 'DEBUG' : 'SILENT';
