// Converter plugins (libwww's HTConversion_add from user code): an ES module
// whose default export is an array of registrations `{ from, to, quality?,
// create }` — the very objects the built-ins register. Loaded by a rule
// file's `Converter MODULE [QUALITY]` or by `--plugin MODULE`; the caller
// registers what this returns. Converts nothing itself.

import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Converter } from './converter.js';
import { validateConverter } from './registry.js';

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n', 1)[0]!.trim() || 'unknown error';
}

/** A path (absolute, ./, ../, or a name ending in .js/.mjs/.cjs/.ts), as the rule parser reads MODULE. */
function isPath(module: string): boolean {
  return isAbsolute(module) || /^\.\.?[\\/]/.test(module) || (!module.startsWith('@') && /\.[cm]?[jt]s$/.test(module));
}

/**
 * Loads a plugin module: a path, resolved against `baseDir` (the rule file's
 * ServerRoot or directory; the working directory for the command line), a
 * `file:` URL, or a package name, looked up from `baseDir` and then from
 * streamstack's own node_modules. A `quality` overrides the module's own for
 * every registration. Throws an Error whose one-line message names the
 * module and says why.
 */
export async function loadPlugin(modulePath: string, quality?: number, baseDir: string = process.cwd()): Promise<Converter[]> {
  const fail = (why: string): never => {
    throw new Error(`plugin ${modulePath}: ${why}`);
  };
  if (quality !== undefined && !(Number.isFinite(quality) && quality >= 0 && quality <= 1)) {
    fail(`quality must be a number from 0 to 1, got ${quality}`);
  }
  let specifier: string;
  if (/^file:/i.test(modulePath) || isPath(modulePath)) {
    const file = /^file:/i.test(modulePath) ? fileURLToPath(modulePath) : resolve(baseDir, modulePath);
    try {
      if (!(await stat(file)).isFile()) fail('not a file');
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('plugin ')) throw err;
      fail((err as NodeJS.ErrnoException).code === 'ENOENT' ? `no such file (${file})` : `cannot read it: ${firstLine(err)}`);
    }
    specifier = pathToFileURL(file).href;
  } else {
    specifier = resolvePackage(modulePath, baseDir);
  }

  let module: { default?: unknown };
  try {
    module = (await import(specifier)) as { default?: unknown };
  } catch (err) {
    return fail(`failed to load: ${firstLine(err)}`);
  }
  const list = module.default;
  if (list === undefined) fail('no default export (expected an array of converters)');
  if (!Array.isArray(list)) fail('the default export is not an array of converters');
  if ((list as unknown[]).length === 0) fail('the default export is an empty array');

  return (list as unknown[]).map((entry, i) => {
    try {
      validateConverter(entry);
    } catch (err) {
      return fail(`converter #${i + 1}: ${firstLine(err)}`);
    }
    // Bound so that a class instance's method keeps its `this`.
    return { from: entry.from, to: entry.to, quality: quality ?? entry.quality ?? 1, create: entry.create.bind(entry) };
  });
}

/** A package name as a file URL when it resolves from `baseDir`, else as written. */
function resolvePackage(name: string, baseDir: string): string {
  try {
    return pathToFileURL(createRequire(join(baseDir, 'package.json')).resolve(name)).href;
  } catch {
    // ESM-only packages have no `require` export: let import() resolve them.
    return name;
  }
}
