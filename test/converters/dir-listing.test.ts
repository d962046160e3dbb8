// www/dir → text/html and application/json: escaping, hrefs encoded once,
// order, the parent link, the JSON array, and a slow consumer.

import { Readable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { makeFormat } from '../../src/format.js';
import { dirToHtml, dirToJson, entryHref, escapeHtml, MAX_ENTRIES, type DirEntry } from '../../converters/dir-listing.js';
import { collect, slowConsumer } from '../stack/fixtures.js';

const MTIME = Date.UTC(2024, 2, 1, 12, 30);

function entry(name: string, isDirectory = false, size = 10): DirEntry {
  return { name, isDirectory, size, mtimeMs: MTIME };
}

function render(converter: typeof dirToHtml, path: string, entries: readonly unknown[]): Promise<string> {
  const stream = converter.create({ request: null, from: makeFormat('www/dir', { path }), to: makeFormat(converter.to) });
  return collect(Readable.from(entries).pipe(stream as Duplex)).then((b) => b.toString('utf8'));
}

const hrefs = (html: string): string[] => [...html.matchAll(/<td class="name"><a href="([^"]*)"/g)].map((m) => m[1]!);

describe('www/dir → text/html', () => {
  const hard = [
    entry('some thing.txt', false, 1536),
    entry('snow ☃', true),
    entry('.hidden'),
    entry('do..ts.txt'),
    entry('<script>alert(1)</script>.html'),
    entry('a&b "quoted" \'single\'.txt'),
    entry('100%.txt'),
    entry('a:b'),
    entry('?query#frag'),
    entry('file10.txt'),
    entry('file2.txt'),
    entry('Zeta', true),
    entry('alpha', true),
  ];

  it('is a complete UTF-8 page with a title and a little CSS', async () => {
    const html = await render(dirToHtml, '/snow ☃/', hard);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).toContain('<title>Index of /snow ☃/</title>');
    expect(html).toContain('<style>');
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
  });

  it('escapes names and never lets markup through', async () => {
    const html = await render(dirToHtml, '/', hard);
    // The page's own script is the only one, at the end of the body.
    expect(html.split('<script').length).toBe(2);
    expect(html.indexOf('<script>')).toBeGreaterThan(html.indexOf('</table>'));
    // Nothing in the page's own script or style could close its element early.
    const script = html.slice(html.indexOf('<script>') + 8, html.indexOf('</script>'));
    expect(script.length).toBeGreaterThan(1000);
    expect(script).not.toContain('</');
    expect(html.slice(html.indexOf('<style>') + 7, html.indexOf('</style>'))).not.toContain('<');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;.html');
    expect(html).toContain('a&amp;b &quot;quoted&quot; &#39;single&#39;.txt');
  });

  it('encodes each href exactly once, relative, with a slash for directories', async () => {
    const html = await render(dirToHtml, '/', hard);
    const links = hrefs(html);
    expect(links).toContain('./some%20thing.txt');
    expect(links).toContain('./snow%20%E2%98%83/');
    expect(links).toContain('./100%25.txt');
    expect(links).toContain('./a%3Ab');
    expect(links).toContain('./%3Fquery%23frag');
    // In the attribute the apostrophe is escaped; the browser reads it back as '.
    expect(links).toContain('./a%26b%20%22quoted%22%20&#39;single&#39;.txt');
    // Decoding once gives the name back, for every entry.
    for (const e of hard) expect(decodeURIComponent(entryHref(e).slice(2)).replace(/\/$/, '')).toBe(e.name);
  });

  it('lists directories first, then names in natural order', async () => {
    const html = await render(dirToHtml, '/', hard);
    const order = hrefs(html).map((h) => decodeURIComponent(h.slice(2).replaceAll('&#39;', "'")));
    expect(order).toEqual([
      'alpha/', 'snow ☃/', 'Zeta/',
      '?query#frag', '.hidden', '<script>alert(1)</script>.html', '100%.txt', 'a:b', `a&b "quoted" 'single'.txt`,
      'do..ts.txt', 'file2.txt', 'file10.txt', 'some thing.txt',
    ]);
  });

  it('has a parent link except at the root', async () => {
    expect(hrefs(await render(dirToHtml, '/snow ☃/', [entry('x')]))[0]).toBe('../');
    expect(hrefs(await render(dirToHtml, '/', [entry('x')]))).toEqual(['./x']);
  });

  it('links every ancestor in the breadcrumb without re-encoding the path', async () => {
    const html = await render(dirToHtml, '/a b/c%2Fd/<e>/', []);
    const nav = /<nav aria-label="Breadcrumb">(.*?)<\/nav>/.exec(html)![1]!;
    expect(nav).toBe('<ol class="crumbs"><li><a href="../../../" aria-label="Root">/</a></li><li><a href="../../">a b</a></li>'
      + '<li><a href="../">c%2Fd</a></li><li><a href="./" aria-current="page">&lt;e&gt;</a></li></ol>');
    expect(/<h1>(.*)<\/h1>/.exec(html)![1]).toBe('Index of /a b/c%2Fd/&lt;e&gt;/');
  });

  it('shows sizes for files, a dash for directories, and the date', async () => {
    const html = await render(dirToHtml, '/', [entry('big', false, 5 * 1024 * 1024), entry('small', false, 12), entry('d', true)]);
    expect(html).toContain('data-bytes="5242880" title="5242880 bytes">5.0 MiB<');
    expect(html).toContain('data-bytes="12" title="12 bytes">12 B<');
    expect(html).toContain('<td class="size"><span aria-hidden="true">—</span></td>');
    expect(html).toContain('<time datetime="2024-03-01T12:30:00.000Z">2024-03-01T12:30:00Z</time>');
  });

  it('picks the unit so that the number stays under 1024, never "1024 KiB"', async () => {
    const sizes: Array<[number, string]> = [
      [0, '0 B'], [1023, '1023 B'], [1024, '1.0 KiB'], [1536, '1.5 KiB'], [10 * 1024 + 512, '11 KiB'], [1024 * 1024 - 1, '1.0 MiB'],
      [1023 * 1024, '1023 KiB'], [3 * 1024 ** 3, '3.0 GiB'], [5 * 1024 ** 4, '5.0 TiB'], [2048 * 1024 ** 4, '2048 TiB'],
    ];
    const html = await render(dirToHtml, '/', sizes.map(([size], i) => entry(`f${i}`, false, size)));
    for (const [size, shown] of sizes) expect(html).toContain(`data-bytes="${size}" title="${size} bytes">${shown}</td>`);
  });

  it('rejects something that is not an entry', async () => {
    await expect(render(dirToHtml, '/', [{ nope: 1 }])).rejects.toThrow(TypeError);
  });

  it('lists an empty directory', async () => {
    const html = await render(dirToHtml, '/empty/', []);
    expect(hrefs(html)).toEqual(['../']);
  });
});

describe('www/dir → application/json', () => {
  it('is an array in the same order', async () => {
    const json = JSON.parse(await render(dirToJson, '/', [entry('b.txt', false, 3), entry('a', true, 0), entry('<x>')])) as unknown[];
    expect(json).toEqual([
      { name: 'a', isDirectory: true, size: 0, mtime: '2024-03-01T12:30:00.000Z' },
      { name: '<x>', isDirectory: false, size: 10, mtime: '2024-03-01T12:30:00.000Z' },
      { name: 'b.txt', isDirectory: false, size: 3, mtime: '2024-03-01T12:30:00.000Z' },
    ]);
  });

  it('is an empty array for an empty directory', async () => {
    expect(JSON.parse(await render(dirToJson, '/', []))).toEqual([]);
  });

  it('is ranked below HTML so that */* gets the page', () => {
    expect(dirToJson.quality).toBeLessThan(dirToHtml.quality!);
  });
});

describe('a huge listing and a slow consumer', () => {
  it('renders only as fast as it is read, and caps what it sorts', async () => {
    const count = MAX_ENTRIES + 500;
    let made = 0;
    const source = new Readable({
      objectMode: true,
      read() {
        if (made === count) this.push(null);
        else this.push(entry(`some fairly long file name number ${made++} ${'x'.repeat(200)}.txt`, false, made));
      },
    });
    const listing = dirToHtml.create({ request: null, from: makeFormat('www/dir', { path: '/big/' }), to: makeFormat('text/html') }) as Duplex;
    let maxBuffered = 0;
    let html = '';
    const sink = slowConsumer(() => {
      maxBuffered = Math.max(maxBuffered, listing.readableLength);
    }, 0, (chunk) => {
      if (html.length < 4096) html += chunk.toString();
    });
    await pipeline(source, listing, sink);
    // About 68 MiB of HTML went by, never more than a couple of batches at once.
    expect(sink.received).toBeGreaterThan(64 * 1024 * 1024);
    expect(maxBuffered).toBeLessThanOrEqual(64 * 1024);
    // It did wait for the consumer with a batch ready.
    expect(maxBuffered).toBeGreaterThanOrEqual(16 * 1024);
    expect(html).toContain('Index of');
    expect(made).toBe(count);
  }, 60_000);

  it('says how many entries it left out', async () => {
    const entries = Array.from({ length: MAX_ENTRIES + 3 }, (_, i) => entry(`f${i}`));
    const html = await render(dirToHtml, '/', entries);
    expect(html).toContain('3 more entries not listed.');
  }, 30_000);
});

describe('escapeHtml', () => {
  it('escapes the five characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});
