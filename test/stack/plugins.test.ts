// loadPlugin: what loads, the quality override, and every way a plugin can
// fail to load, each a one-line message naming the module.

import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Transform } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFormat } from '../../src/format.js';
import { loadPlugin } from '../../src/plugins.js';

let dir: string;

const GOOD = `import { PassThrough } from 'node:stream';
export default [
  { from: 'text/x-a', to: 'text/html', quality: 0.7, create: () => new PassThrough() },
  { from: 'text/x-b', to: 'text/plain', create: () => new PassThrough() },
];`;

const CLASS = `import { Transform } from 'node:stream';
class Upper {
  from = 'text/x-up';
  to = 'text/plain';
  suffix = '!';
  create() {
    const suffix = this.suffix;
    return new Transform({ transform: (c, _e, cb) => cb(null, c.toString().toUpperCase() + suffix) });
  }
}
export default [new Upper()];`;

const files: Record<string, string> = {
  'good.mjs': GOOD,
  'class.mjs': CLASS,
  'syntax.mjs': 'export default [ { from: ',
  'throws.mjs': "throw new Error('cannot start\\nsecond line');",
  'no-default.mjs': 'export const converters = [];',
  'not-array.mjs': "export default { from: 'a/b', to: 'c/d', create() {} };",
  'empty.mjs': 'export default [];',
  'bad-from.mjs': "export default [{ from: 'markdown', to: 'text/html', create() {} }];",
  'bad-to.mjs': "export default [{ from: 'text/markdown', to: 'text/*', create() {} }];",
  'no-create.mjs': "export default [{ from: 'text/markdown', to: 'text/html' }];",
  'bad-quality.mjs': "export default [{ from: 'text/markdown', to: 'text/html', quality: 7, create() {} }];",
  'second-bad.mjs': "export default [{ from: 'text/a', to: 'text/b', create() {} }, null];",
  'missing-import.mjs': "import 'streamstack-no-such-package';\nexport default [];",
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'streamstack-plugins-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  mkdirSync(join(dir, 'a-directory.mjs'));
  // A plugin published as a package, found from the base directory.
  const pkg = join(dir, 'node_modules', 'streamstack-plugin-fake');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'streamstack-plugin-fake', type: 'module', main: 'index.js' }));
  writeFileSync(join(pkg, 'index.js'), GOOD);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('loadPlugin', () => {
  it('loads the registrations, with quality 1 by default', async () => {
    const list = await loadPlugin(join(dir, 'good.mjs'));
    expect(list.map((c) => [c.from, c.to, c.quality])).toEqual([['text/x-a', 'text/html', 0.7], ['text/x-b', 'text/plain', 1]]);
  });

  it('resolves a relative path against the base directory', async () => {
    const list = await loadPlugin('good.mjs', undefined, dir);
    expect(list).toHaveLength(2);
  });

  it('loads a file: URL', async () => {
    const list = await loadPlugin(pathToFileURL(join(dir, 'good.mjs')).href);
    expect(list).toHaveLength(2);
  });

  it('loads a package by name from the base directory', async () => {
    const list = await loadPlugin('streamstack-plugin-fake', 0.5, dir);
    expect(list.map((c) => [c.from, c.quality])).toEqual([['text/x-a', 0.5], ['text/x-b', 0.5]]);
  });

  it('lets the QUALITY argument override the module', async () => {
    const list = await loadPlugin(join(dir, 'good.mjs'), 0.25);
    expect(list.map((c) => c.quality)).toEqual([0.25, 0.25]);
    const zero = await loadPlugin(join(dir, 'good.mjs'), 0);
    expect(zero.map((c) => c.quality)).toEqual([0, 0]);
  });

  it('keeps `this` for a registration that is a class instance', async () => {
    const [upper] = await loadPlugin(join(dir, 'class.mjs'));
    const stream = upper!.create({ request: null, from: makeFormat('text/x-up'), to: makeFormat('text/plain') }) as Transform;
    const out = await new Promise<string>((resolve) => {
      stream.once('data', (c: Buffer) => resolve(c.toString()));
      stream.end('hi');
    });
    expect(out).toBe('HI!');
  });

  const failures: Array<[string, string, number | undefined, RegExp]> = [
    ['a missing file', 'nope.mjs', undefined, /^plugin nope\.mjs: no such file \(.*nope\.mjs\)$/],
    ['a missing file given as ./path', './nope', undefined, /^plugin \.\/nope: no such file/],
    ['a package that is not installed', 'streamstack-no-such-plugin', undefined, /^plugin streamstack-no-such-plugin: failed to load: .*streamstack-no-such-plugin/],
    ['a directory', 'a-directory.mjs', undefined, /^plugin a-directory\.mjs: not a file$/],
    ['a syntax error', 'syntax.mjs', undefined, /^plugin syntax\.mjs: failed to load: .+$/],
    ['a module that throws', 'throws.mjs', undefined, /^plugin throws\.mjs: failed to load: cannot start$/],
    ['a missing dependency', 'missing-import.mjs', undefined, /^plugin missing-import\.mjs: failed to load: .*streamstack-no-such-package.*$/],
    ['no default export', 'no-default.mjs', undefined, /^plugin no-default\.mjs: no default export \(expected an array of converters\)$/],
    ['a default that is not an array', 'not-array.mjs', undefined, /^plugin not-array\.mjs: the default export is not an array of converters$/],
    ['an empty array', 'empty.mjs', undefined, /^plugin empty\.mjs: the default export is an empty array$/],
    ['from without a slash', 'bad-from.mjs', undefined, /^plugin bad-from\.mjs: converter #1: converter "from" must be a media type, got "markdown"$/],
    ['to a pattern', 'bad-to.mjs', undefined, /^plugin bad-to\.mjs: converter #1: converter "to" must be a concrete media type/],
    ['create missing', 'no-create.mjs', undefined, /^plugin no-create\.mjs: converter #1: converter "create" must be a function$/],
    ['a quality out of range in the module', 'bad-quality.mjs', undefined, /^plugin bad-quality\.mjs: converter #1: converter quality must be a number from 0 to 1, got 7$/],
    ['a bad second registration', 'second-bad.mjs', undefined, /^plugin second-bad\.mjs: converter #2: a converter must be an object$/],
    ['a QUALITY argument out of range', 'good.mjs', 1.5, /^plugin good\.mjs: quality must be a number from 0 to 1, got 1\.5$/],
    ['a QUALITY argument that is not a number', 'good.mjs', Number.NaN, /^plugin good\.mjs: quality must be a number from 0 to 1, got NaN$/],
  ];

  it.each(failures)('fails on %s with one line naming the module', async (_d, module, quality, message) => {
    const err = await loadPlugin(module, quality, dir).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    const text = (err as Error).message;
    expect(text).toMatch(message);
    expect(text).not.toContain('\n');
  });
});
