/**
 * zod/mini with English messages, imported as a namespace everywhere
 * (`import * as z from './zod.js'`): esbuild then keeps only what is used
 * (~17 KB). Re-exporting the namespace as a value kept all of zod and every
 * locale in each bundle (422 KB), as `npm run bench` measured.
 */
import { config } from 'zod/mini';
import { en } from 'zod/locales';

config(en());

export * from 'zod/mini';
