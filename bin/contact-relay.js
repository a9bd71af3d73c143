#!/usr/bin/env node
// The `contact-relay` command (package.json "bin"): loads the TypeScript CLI
// in cli/ through tsx's ESM loader, in this same process, and runs it.
import { register } from 'tsx/esm/api';

register();
const { runAsProgram } = await import('../cli/main.ts');
await runAsProgram();
