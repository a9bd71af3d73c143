/**
 * esbuild metafiles → what a bundle is made of: our code, the AWS SDK (its
 * packages and the packages only it pulls in), and every other dependency;
 * and the SDK clients and commands a bundle uses, for its baseline.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Metafile, Plugin } from 'esbuild';

/** The AWS SDK v3 and its runtime (Smithy, crypto helpers, the invoke store it loads). */
const AWS_SDK = /^(@aws-sdk|@smithy|@aws-crypto)\/|^@aws\/lambda-invoke-store$/;

export function packageOf(input: string): string | undefined {
  const match = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input.replaceAll('\\', '/'));
  if (match === null) return undefined;
  // The last node_modules segment names the package (nested copies count as that package).
  const all = [...input.replaceAll('\\', '/').matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)];
  return (all.at(-1)?.[1] ?? match[1]) as string;
}

export interface Composition {
  totalBytes: number;
  oursBytes: number;
  awsSdkBytes: number;
  /** Other dependencies, largest first. */
  dependencies: Array<{ name: string; bytes: number }>;
  /** Packages counted as AWS SDK because only SDK packages import them. */
  awsSdkTransitive: string[];
  awsSdkPackages: Array<{ name: string; bytes: number }>;
  /** ours + non-AWS dependencies: the 250 KB budget. */
  budgetBytes: number;
  /** The largest single files (any group), for the report. */
  largestInputs: Array<{ path: string; bytes: number }>;
}

export function composition(metafile: Metafile, outputFile: string): Composition {
  const output = metafile.outputs[outputFile];
  if (output === undefined) throw new Error(`metafile has no output ${outputFile}`);
  const bytesByPackage = new Map<string, number>();
  let ours = 0;
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const name = packageOf(input);
    if (name === undefined) ours += bytesInOutput;
    else bytesByPackage.set(name, (bytesByPackage.get(name) ?? 0) + bytesInOutput);
  }
  // Which packages import each package (from outside it), over the files in this output.
  const importers = new Map<string, Set<string>>();
  for (const [input, info] of Object.entries(metafile.inputs)) {
    if (output.inputs[input] === undefined) continue;
    const from = packageOf(input) ?? '(ours)';
    for (const imported of info.imports) {
      const to = packageOf(imported.path);
      if (to === undefined || to === from) continue;
      if (!importers.has(to)) importers.set(to, new Set());
      importers.get(to)?.add(from);
    }
  }
  const aws = new Set([...bytesByPackage.keys()].filter((name) => AWS_SDK.test(name)));
  const transitive: string[] = [];
  for (let changed = true; changed; ) {
    changed = false;
    for (const name of bytesByPackage.keys()) {
      if (aws.has(name)) continue;
      const by = importers.get(name);
      if (by !== undefined && by.size > 0 && [...by].every((importer) => aws.has(importer))) {
        aws.add(name);
        transitive.push(name);
        changed = true;
      }
    }
  }
  const awsSdkPackages = [...bytesByPackage]
    .filter(([name]) => aws.has(name))
    .map(([name, bytes]) => ({ name, bytes }))
    .sort((a, b) => b.bytes - a.bytes);
  const dependencies = [...bytesByPackage]
    .filter(([name]) => !aws.has(name))
    .map(([name, bytes]) => ({ name, bytes }))
    .sort((a, b) => b.bytes - a.bytes);
  const awsSdkBytes = awsSdkPackages.reduce((sum, entry) => sum + entry.bytes, 0);
  const depsBytes = dependencies.reduce((sum, entry) => sum + entry.bytes, 0);
  const largestInputs = Object.entries(output.inputs)
    .map(([input, { bytesInOutput }]) => ({ path: input, bytes: bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 12);
  return {
    totalBytes: output.bytes,
    oursBytes: ours,
    awsSdkBytes,
    dependencies,
    awsSdkTransitive: transitive.sort(),
    awsSdkPackages,
    budgetBytes: ours + depsBytes,
    largestInputs,
  };
}

export interface SdkUse {
  /** package → the names our code imports from it (clients, commands, exceptions) */
  imports: Record<string, string[]>;
}

/**
 * The SDK names our code in a bundle imports (read from the sources the
 * metafile lists): the SDK is bundled from its CommonJS build, so which
 * commands are used cannot be read off the bundled files themselves.
 */
export function sdkUse(metafile: Metafile, outputFile: string, workingDir: string): SdkUse {
  const output = metafile.outputs[outputFile];
  if (output === undefined) throw new Error(`metafile has no output ${outputFile}`);
  const imports: Record<string, Set<string>> = {};
  for (const input of Object.keys(output.inputs)) {
    if (packageOf(input) !== undefined || !/\.[cm]?[jt]s$/.test(input)) continue;
    const source = readFileSync(path.resolve(workingDir, input), 'utf8');
    for (const match of source.matchAll(/import\s*\{([^}]*)\}\s*from\s*['"](@aws-sdk\/[^'"]+)['"]/g)) {
      for (const raw of (match[1] as string).split(',')) {
        const name = raw.trim();
        if (name === '' || name.startsWith('type ')) continue;
        const from = match[2] as string;
        imports[from] = (imports[from] ?? new Set()).add(name.split(/\s+as\s+/)[0] as string);
      }
    }
  }
  return { imports: Object.fromEntries(Object.entries(imports).map(([pkg, names]) => [pkg, [...names].sort()])) };
}

/**
 * The baseline of a function: the SDK clients and commands it uses, one
 * instance of each client built at init (as the function does), and a
 * one-line handler. Nothing of ours.
 */
export function baselineSource(use: SdkUse): string {
  const imports = new Map<string, Set<string>>(
    Object.entries(use.imports).map(([pkg, names]) => [pkg, new Set(names)]),
  );
  const add = (pkg: string, name: string) => imports.set(pkg, (imports.get(pkg) ?? new Set()).add(name));
  const names = Object.values(use.imports).flat();
  const instances: string[] = [];
  if (names.includes('DynamoDBDocumentClient')) {
    add('@aws-sdk/client-dynamodb', 'DynamoDBClient');
    instances.push('DynamoDBDocumentClient.from(new DynamoDBClient({}))');
  }
  for (const name of names) {
    if (!/Client$/.test(name) || name === 'DynamoDBDocumentClient') continue;
    if (name === 'DynamoDBClient' && names.includes('DynamoDBDocumentClient')) continue;
    instances.push(`new ${name}({})`);
  }
  const others = names.filter((name) => !/Client$/.test(name));
  const lines = [
    "// Generated by bench/run.ts: the AWS SDK names this function's code imports, one client each built at init, a one-line handler.",
  ];
  for (const [pkg, list] of [...imports].sort(([a], [b]) => a.localeCompare(b)))
    lines.push(`import { ${[...list].sort().join(', ')} } from '${pkg}';`);
  lines.push(`export const clients = [${instances.join(', ')}];`);
  lines.push(`export const used = [${others.join(', ')}];`);
  lines.push('export const handler = async () => ({ statusCode: 200 });');
  return `${lines.join('\n')}\n`;
}

/** Replace module specifiers at build time (the bench's what-if builds; the sources stay untouched). */
export function aliasPlugin(
  name: string,
  aliases: Record<string, string | { contents: string }>,
  resolveDir: string,
): Plugin {
  return {
    name,
    setup(build) {
      for (const [from, to] of Object.entries(aliases)) {
        const filter = new RegExp(`^${from.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`);
        build.onResolve({ filter }, async (args) => {
          if (args.pluginData === name) return undefined;
          if (typeof to !== 'string') return { path: from, namespace: name };
          return build.resolve(to, {
            kind: args.kind,
            resolveDir: args.resolveDir,
            importer: args.importer,
            pluginData: name,
          });
        });
        if (typeof to !== 'string')
          build.onLoad({ filter, namespace: name }, () => ({ contents: to.contents, resolveDir, loader: 'js' }));
      }
    },
  };
}

/** A what-if that changes one of our source files on the way into esbuild (the file stays untouched). */
function rewritePlugin(name: string, file: RegExp, rewrite: (text: string) => string): Plugin {
  return {
    name,
    setup(build) {
      build.onLoad({ filter: file }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        const rewritten = rewrite(text);
        if (rewritten === text) throw new Error(`${name}: ${args.path} no longer has what this what-if rewrites`);
        return { contents: rewritten, loader: 'ts' };
      });
    },
  };
}

/**
 * The route schema checking `defaultRegion` with libphonenumber-js (shared/phone.ts's isRegion) instead of the
 * constant list in shared/config/regions.ts: every function that validates routes then carries its metadata.
 */
export function regionCheckPlugin(): Plugin {
  return rewritePlugin('bench-phone-in-routes', /[\\/]shared[\\/]config[\\/]routes\.ts$/, (text) =>
    text.replace("import { isRegion } from './regions.js';", "import { isRegion } from '../phone.js';"),
  );
}

/**
 * The forms function's sources imported statically (built at init) instead of loaded by the first request that
 * names each: every `() => import('./x.js').then((module) => module.y)` of shared/sources/index.ts becomes a
 * static import of `y` and `() => Promise.resolve(y)`.
 */
export function eagerSourcesPlugin(): Plugin {
  const loader = /\(\) => import\('(\.\/[^']+)'\)\.then\(\(module\) => module\.(\w+)\)/g;
  return rewritePlugin('bench-eager-sources', /[\\/]shared[\\/]sources[\\/]index\.ts$/, (text) => {
    const imports = [...text.matchAll(loader)].map((match) => `import { ${match[2]} } from '${match[1]}';`);
    return `${imports.join('\n')}\n${text.replace(loader, (_whole, _file, name: string) => `() => Promise.resolve(${name})`)}`;
  });
}
