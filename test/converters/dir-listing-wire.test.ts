// The HTML directory listing over raw sockets, as a browser gets it:
// breadcrumbs, sizes and dates, the six sort orders by query (and odd queries
// falling back to the default), hostile names that are escaped and whose
// links lead to the file, the upload form only where POST is enabled, the
// form posted without a script (303 back to the listing, bytes on disk), and
// the JSON variant untouched by the query.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RawResponse } from '../helpers/wire.js';
import { GET, fetchRaw, req, startServer, stopServers } from '../protocols/file-helpers.js';

const RULES = [
  'Pass /*',
  'DirAccess On',
  'Enable POST /up/*',
  'Enable PUT /putonly/*',
  'Enable POST /list/posting/*',
].join('\n');

// Distinct sizes and dates, in an order that differs from the names' order.
const DAY = 86_400_000;
const BASE = Date.UTC(2024, 0, 15, 8, 30, 5);
const FILES: ReadonlyArray<{ name: string; size: number; age: number }> = [
  { name: 'b-medium.txt', size: 2048, age: 1 },
  { name: 'a-small.txt', size: 10, age: 3 },
  { name: 'c-large.bin', size: 3 * 1024 * 1024 + 5, age: 2 },
  { name: 'file10.txt', size: 100, age: 0 },
  { name: 'file9.txt', size: 99, age: 4 },
];
const DIRS: ReadonlyArray<{ name: string; age: number }> = [
  { name: 'zdir', age: 5 },
  { name: 'adir', age: 0 },
];
const HOSTILE = ['a b#?.txt', '<img src=x>.html', 'snöw ☃.md', `q"uo'te&amp.txt`, '100%.txt', 'x:y.txt'];

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'listing-'));
  const list = path.join(root, 'list');
  fs.mkdirSync(list);
  for (const f of FILES) {
    const file = path.join(list, f.name);
    fs.writeFileSync(file, randomBytes(f.size));
    fs.utimesSync(file, new Date(BASE - f.age * DAY), new Date(BASE - f.age * DAY));
  }
  for (const d of DIRS) {
    fs.mkdirSync(path.join(list, d.name));
    fs.utimesSync(path.join(list, d.name), new Date(BASE - d.age * DAY), new Date(BASE - d.age * DAY));
  }
  fs.mkdirSync(path.join(list, 'posting'));
  fs.utimesSync(path.join(list, 'posting'), new Date(BASE - 6 * DAY), new Date(BASE - 6 * DAY));
  fs.mkdirSync(path.join(root, 'hostile', 'we ird#<b>'), { recursive: true });
  for (const name of HOSTILE) fs.writeFileSync(path.join(root, 'hostile', name), `content of ${name}`);
  fs.mkdirSync(path.join(root, 'up', 'deep', 'er'), { recursive: true });
  fs.mkdirSync(path.join(root, 'putonly'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
afterEach(stopServers);

const HTML = { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

async function page(port: number, target: string): Promise<string> {
  const r = await GET(port, target, HTML);
  expect(r.status).toBe(200);
  expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
  return r.body.toString('utf8');
}

const unescape = (s: string): string => s.replace(/&(amp|lt|gt|quot|#39);/g, (_m, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!);

/** The rows of the table body: the link's href (as the browser reads it), the shown name, size cell and date. */
function rows(html: string): Array<{ href: string; text: string; dir: boolean; bytes: string | null; size: string; date: string; datetime: string }> {
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(html)![1]!;
  return [...body.matchAll(/<tr( class="[^"]*")?><td class="name"><a href="([^"]*)">(?:<svg[^>]*><use href="#i-\w+"\/><\/svg>)([^<]*)<\/a><\/td><td class="size"(?: data-bytes="(\d+)" title="\d+ bytes")?>(.*?)<\/td><td class="date">(?:<time datetime="([^"]*)">([^<]*)<\/time>)?<\/td><\/tr>/g)]
    .map((m) => ({ dir: (m[1] ?? '').includes('dir'), href: unescape(m[2]!), text: unescape(m[3]!), bytes: m[4] ?? null, size: m[5]!, datetime: m[6] ?? '', date: m[7] ?? '' }));
}

const names = (html: string): string[] => rows(html).filter((r) => r.href !== '../').map((r) => r.text);

describe('the HTML listing', () => {
  it('has breadcrumbs: every ancestor a link, in a labelled nav, the current one marked', async () => {
    const { port } = await startServer(root, RULES);
    const html = await page(port, '/up/deep/er/');
    const nav = /<nav aria-label="Breadcrumb"><ol class="crumbs">(.*?)<\/ol><\/nav>/.exec(html)![1]!;
    const crumbs = [...nav.matchAll(/<li><a href="([^"]*)"([^>]*)>([^<]*)<\/a><\/li>/g)].map((m) => [m[1], m[3], m[2]!.includes('aria-current="page"')]);
    expect(crumbs).toEqual([['../../../', '/', false], ['../../', 'up', false], ['../', 'deep', false], ['./', 'er', true]]);
    // Each one, resolved as a browser does, is the listing of that ancestor.
    for (const [href, label] of crumbs) {
      const target = new URL(href as string, `http://t/up/deep/er/`).pathname;
      const h1 = /<h1>([^<]*)<\/h1>/.exec(await page(port, target))![1]!;
      expect(h1).toBe(`Index of ${target}`);
      expect(target.endsWith(label === '/' ? '/' : `${label as string}/`)).toBe(true);
    }
  });

  it('shows sizes in human units with the exact bytes, and dates in ISO 8601 UTC', async () => {
    const { port } = await startServer(root, RULES);
    const listed = rows(await page(port, '/list/'));
    for (const f of FILES) {
      const row = listed.find((r) => r.text === f.name)!;
      expect(row.bytes).toBe(String(f.size));
      const iso = new Date(BASE - f.age * DAY).toISOString();
      expect(row.datetime).toBe(iso);
      expect(row.date).toBe(iso.slice(0, 19) + 'Z');
    }
    const size = (name: string) => listed.find((r) => r.text === name)!.size;
    expect(size('a-small.txt')).toBe('10 B');
    expect(size('b-medium.txt')).toBe('2.0 KiB');
    expect(size('c-large.bin')).toBe('3.0 MiB');
    // Directories show no size, hidden from screen readers.
    expect(listed.find((r) => r.text === 'zdir/')!.size).toBe('<span aria-hidden="true">—</span>');
  });

  it('sorts by name, size or date in either order, directories always first', async () => {
    const { port } = await startServer(root, RULES);
    const dirsByName = ['adir/', 'posting/', 'zdir/'];
    const expected: Record<string, string[]> = {
      '': [...dirsByName, 'a-small.txt', 'b-medium.txt', 'c-large.bin', 'file9.txt', 'file10.txt'],
      '?sort=name&order=asc': [...dirsByName, 'a-small.txt', 'b-medium.txt', 'c-large.bin', 'file9.txt', 'file10.txt'],
      '?sort=name&order=desc': ['zdir/', 'posting/', 'adir/', 'file10.txt', 'file9.txt', 'c-large.bin', 'b-medium.txt', 'a-small.txt'],
      // Directories have no size: by size they stay in name order.
      '?sort=size&order=asc': [...dirsByName, 'a-small.txt', 'file9.txt', 'file10.txt', 'b-medium.txt', 'c-large.bin'],
      '?sort=size&order=desc': [...dirsByName, 'c-large.bin', 'b-medium.txt', 'file10.txt', 'file9.txt', 'a-small.txt'],
      '?sort=size': [...dirsByName, 'c-large.bin', 'b-medium.txt', 'file10.txt', 'file9.txt', 'a-small.txt'],
      '?sort=date&order=asc': ['posting/', 'zdir/', 'adir/', 'file9.txt', 'a-small.txt', 'c-large.bin', 'b-medium.txt', 'file10.txt'],
      '?sort=date&order=desc': ['adir/', 'zdir/', 'posting/', 'file10.txt', 'b-medium.txt', 'c-large.bin', 'a-small.txt', 'file9.txt'],
      '?sort=date': ['adir/', 'zdir/', 'posting/', 'file10.txt', 'b-medium.txt', 'c-large.bin', 'a-small.txt', 'file9.txt'],
    };
    for (const [query, order] of Object.entries(expected)) {
      const html = await page(port, `/list/${query}`);
      expect(names(html), query).toEqual(order);
      // The parent link stays the first row whatever the order.
      expect(rows(html)[0]!.href).toBe('../');
    }
  });

  it('marks the active column with aria-sort; its header link flips the order, the others start at their first order', async () => {
    const { port } = await startServer(root, RULES);
    const headers = (html: string) => [...html.matchAll(/<th scope="col" class="(\w+)"( aria-sort="(\w+)")?><a href="([^"]*)">([^<]*)<\/a><\/th>/g)]
      .map((m) => ({ key: m[1], sort: m[3] ?? null, href: unescape(m[4]!), label: m[5] }));
    expect(headers(await page(port, '/list/'))).toEqual([
      { key: 'name', sort: 'ascending', href: '?sort=name&order=desc', label: 'Name' },
      { key: 'size', sort: null, href: '?sort=size&order=desc', label: 'Size' },
      { key: 'date', sort: null, href: '?sort=date&order=desc', label: 'Modified' },
    ]);
    expect(headers(await page(port, '/list/?sort=size&order=desc'))).toEqual([
      { key: 'name', sort: null, href: '?sort=name&order=asc', label: 'Name' },
      { key: 'size', sort: 'descending', href: '?sort=size&order=asc', label: 'Size' },
      { key: 'date', sort: null, href: '?sort=date&order=desc', label: 'Modified' },
    ]);
    const html = await page(port, '/list/?sort=date&order=asc');
    expect(headers(html)[2]).toEqual({ key: 'date', sort: 'ascending', href: '?sort=date&order=desc', label: 'Modified' });
    expect(html).toContain('<caption>3 directories, 5 files, sorted by modified, oldest first</caption>');
  });

  it('renders an odd query as the default page, and never echoes it', async () => {
    const { port } = await startServer(root, RULES);
    const plain = await page(port, '/list/');
    const odd = [
      '?sort=evil', '?sort=size&order=sideways', '?sort=size&sort=date', '?sort=size&order=asc&order=desc',
      '?sort=%3Cscript%3E', '?sort=name%00', '?SORT=size', '?sort=Size', '?order=desc', '?sort=', '?%', '?sort=size%',
      '?sort="><script>alert(1)</script>', '?' + 'sort=size&'.repeat(500),
    ];
    for (const query of odd) {
      const html = await page(port, `/list/${query}`);
      expect(html, query).toBe(plain);
    }
    // Other parameters do not matter: the sort still applies.
    expect(names(await page(port, '/list/?x=1&sort=size&order=asc&y=<b>'))[3]).toBe('a-small.txt');
  });

  it('keeps the query through the trailing-slash redirect, and caches stay per rendering', async () => {
    const { port } = await startServer(root, RULES);
    const moved = await GET(port, '/list?sort=size&order=asc', HTML);
    expect(moved.status).toBe(308);
    expect(moved.headers.location).toBe('/list/?sort=size&order=asc');
    const a = await GET(port, '/list/?sort=size&order=asc', HTML);
    const b = await GET(port, '/list/?sort=name&order=desc', HTML);
    // Two renderings of one directory: their bodies differ, so they may not share a validator.
    expect(a.body.equals(b.body)).toBe(false);
    for (const r of [a, b]) {
      expect(r.headers.vary).toMatch(/Accept/);
      expect(r.headers.etag === undefined || r.headers.etag !== (r === a ? b : a).headers.etag).toBe(true);
    }
    expect(a.headers['cache-control']).toBe(b.headers['cache-control']);
  });

  it('escapes hostile names and links to each exactly once encoded: following a link gets that file', async () => {
    const { port } = await startServer(root, RULES);
    const html = await page(port, '/hostile/');
    expect(html).not.toContain('<img src=x>');
    expect(html).not.toContain('<b>');
    expect(html).toContain('&lt;img src=x&gt;.html');
    const listed = rows(html).filter((r) => r.href !== '../');
    expect(listed.map((r) => r.text).sort()).toEqual([...HOSTILE, 'we ird#<b>/'].sort());
    for (const row of listed) {
      // Every character outside the unreserved set is encoded: nothing in the href is read as a query, fragment or scheme.
      expect(row.href).toMatch(/^\.\/[A-Za-z0-9\-._~!'()*%]+\/?$/);
      const target = new URL(row.href, `http://t/hostile/`).pathname;
      const r = await GET(port, target, HTML);
      expect(r.status, row.text).toBe(200);
      if (row.dir) expect(/<h1>([^<]*)<\/h1>/.exec(r.body.toString())![1]).toBe('Index of /hostile/we ird#&lt;b&gt;/');
      else expect(r.body.toString()).toBe(`content of ${row.text}`);
    }
    // Inside the hostile directory, the breadcrumb and the title are escaped too.
    const inner = await page(port, '/hostile/we%20ird%23%3Cb%3E/');
    expect(inner).toContain('<li><a href="./" aria-current="page">we ird#&lt;b&gt;</a></li>');
    expect(inner).toContain('<title>Index of /hostile/we ird#&lt;b&gt;/</title>');
    expect(inner).not.toContain('<b>');
  });

  it('draws a type icon per row from symbols defined once, hidden from screen readers, and loads nothing', async () => {
    const { port } = await startServer(root, RULES);
    const html = await page(port, '/hostile/');
    for (const id of ['dir', 'up', 'text', 'image', 'archive', 'file']) expect(html.split(`<symbol id="i-${id}"`).length).toBe(2);
    const uses = [...html.matchAll(/<a href="([^"]*)"><svg class="icon" aria-hidden="true" focusable="false"><use href="#i-(\w+)"\/><\/svg>/g)].map((m) => [unescape(m[1]!), m[2]]);
    expect(uses.sort()).toEqual([
      ['../', 'up'], ['./we%20ird%23%3Cb%3E/', 'dir'], ['./100%25.txt', 'text'], ['./%3Cimg%20src%3Dx%3E.html', 'text'],
      ['./a%20b%23%3F.txt', 'text'], [`./q%22uo'te%26amp.txt`, 'text'], ['./sn%C3%B6w%20%E2%98%83.md', 'text'], ['./x%3Ay.txt', 'text'],
    ].sort());
    // No external resource: no element with a src, no link but the empty icon, no url(), no address but the SVG namespace.
    expect(html).not.toMatch(/<[^>]+\ssrc=|url\(|@import|https?:\/\/(?!www\.w3\.org\/2000\/svg")/);
    expect([...html.matchAll(/<link[^>]*>/g)].map((m) => m[0])).toEqual(['<link rel="icon" href="data:,">']);
    // Dark mode follows the system.
    expect(html).toContain('@media (prefers-color-scheme:dark)');
  });
});

interface Part {
  name: string;
  filename?: string;
  type?: string;
  data: string | Buffer;
}

const BOUNDARY = '----formdata-x7Yq';

function multipart(parts: Part[]): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"\r\nContent-Type: ${p.type ?? 'application/octet-stream'}`;
    chunks.push(Buffer.from(head + '\r\n\r\n', 'utf8'), Buffer.from(p.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(chunks);
}

function post(port: number, target: string, parts: Part[], headers: Record<string, string> = HTML): Promise<RawResponse> {
  return fetchRaw(port, req('POST', target, { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`, ...headers }, multipart(parts)));
}

/** The fields the form on the page would send: its hidden fields, then the files under the file input's name. */
function formParts(html: string, files: Array<{ filename: string; data: Buffer }>): Part[] {
  const form = /<form id="upload"[^>]*>([\s\S]*?)<\/form>/.exec(html)![1]!;
  const hidden = [...form.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)].map((m) => ({ name: m[1]!, data: m[2]! }));
  const input = /<input id="files" type="file" name="([^"]*)" multiple required>/.exec(form)![1]!;
  return [...hidden, ...files.map((f) => ({ name: input, filename: f.filename, data: f.data }))];
}

describe('the upload form', () => {
  it('is on the listing only where the rules enable POST there', async () => {
    const { port } = await startServer(root, RULES);
    const form = (html: string) => /<form id="upload" class="upload" method="post" enctype="multipart\/form-data">/.test(html);
    expect(form(await page(port, '/up/'))).toBe(true);
    expect(form(await page(port, '/up/deep/er/'))).toBe(true);
    expect(form(await page(port, '/list/posting/'))).toBe(true);
    expect(form(await page(port, '/list/'))).toBe(false);
    expect(form(await page(port, '/putonly/'))).toBe(false);
    expect(form(await page(port, '/'))).toBe(false);
    // And what it offers is what the server accepts.
    expect((await post(port, '/list/', [{ name: 'file', filename: 'x.txt', data: 'x' }])).status).toBe(405);
    expect((await post(port, '/putonly/', [{ name: 'file', filename: 'x.txt', data: 'x' }])).status).toBe(405);
  });

  it('posted by a browser without a script: the files are stored byte-exact and the browser is sent back to the listing (303)', async () => {
    const { port } = await startServer(root, RULES);
    const html = await page(port, '/up/deep/?sort=size&order=desc');
    const one = randomBytes(200_000);
    const two = Buffer.concat([Buffer.from('\r\n--not-the-boundary\r\n\r\n'), randomBytes(5000)]);
    const r = await post(port, '/up/deep/?sort=size&order=desc', formParts(html, [{ filename: 'one.bin', data: one }, { filename: 'sn\u00f6w two.bin', data: two }]));
    expect(r.status).toBe(303);
    // Back to the listing as it was sorted (RFC 9110 §15.4.4: the browser GETs it).
    expect(r.headers.location).toBe('/up/deep/?sort=size&order=desc');
    expect(r.headers.vary).toMatch(/Accept/);
    expect(fs.readFileSync(path.join(root, 'up', 'deep', 'one.bin')).equals(one)).toBe(true);
    expect(fs.readFileSync(path.join(root, 'up', 'deep', 'snöw two.bin')).equals(two)).toBe(true);
    const after = names(await page(port, r.headers.location!));
    expect(after).toEqual(['er/', 'one.bin', 'snöw two.bin']);
  });

  it('redirects to the directory itself: an odd query is dropped, an odd path stays encoded', async () => {
    const { port } = await startServer(root, RULES);
    fs.mkdirSync(path.join(root, 'up', 'we ird#?'), { recursive: true });
    const html = await page(port, '/up/we%20ird%23%3F/');
    const r = await post(port, '/up/we%20ird%23%3F/?sort="><script>&order=up', formParts(html, [{ filename: 'z.txt', data: Buffer.from('zz') }]));
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/up/we%20ird%23%3F/');
    expect(fs.readFileSync(path.join(root, 'up', 'we ird#?', 'z.txt'), 'utf8')).toBe('zz');
  });

  it('keeps the answer of API clients: 201 JSON without the form field, or when JSON is preferred', async () => {
    const { port } = await startServer(root, RULES);
    const html = await page(port, '/up/');
    const noField = await post(port, '/up/', [{ name: 'file', filename: 'api.txt', data: 'api' }]);
    expect(noField.status).toBe(201);
    expect(noField.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(noField.headers.location).toBe('/up/api.txt');
    const json = await post(port, '/up/', formParts(html, [{ filename: 'api2.txt', data: Buffer.from('api2') }]), { Accept: 'application/json' });
    expect(json.status).toBe(201);
    expect(JSON.parse(json.body.toString())).toEqual({ files: [{ field: 'file', name: 'api2.txt', size: 4, type: 'application/octet-stream', href: '/up/api2.txt' }] });
    const curl = await post(port, '/up/', formParts(html, [{ filename: 'api3.txt', data: Buffer.from('api3') }]), { Accept: '*/*' });
    expect(curl.status).toBe(201);
    // A failed form post is an error, not a redirect that hides it.
    const empty = await post(port, '/up/', formParts(html, [{ filename: '', data: Buffer.alloc(0) }]));
    expect(empty.status).toBe(400);
  });
});

describe('the JSON listing', () => {
  it('ignores the sort query: the same array, in name order', async () => {
    const { port } = await startServer(root, RULES);
    const plain = await GET(port, '/list/', { Accept: 'application/json' });
    expect(plain.headers['content-type']).toBe('application/json');
    for (const query of ['?sort=size&order=desc', '?sort=date&order=asc', '?sort=evil']) {
      const r = await GET(port, `/list/${query}`, { Accept: 'application/json' });
      expect(r.body.equals(plain.body)).toBe(true);
    }
    const items = JSON.parse(plain.body.toString()) as Array<{ name: string; isDirectory: boolean; size: number; mtime: string }>;
    expect(items.map((i) => i.name)).toEqual(['adir', 'posting', 'zdir', 'a-small.txt', 'b-medium.txt', 'c-large.bin', 'file9.txt', 'file10.txt']);
    expect(items.find((i) => i.name === 'c-large.bin')).toEqual({ name: 'c-large.bin', isDirectory: false, size: 3 * 1024 * 1024 + 5, mtime: new Date(BASE - 2 * DAY).toISOString() });
  });
});
