// The fuzzer's document root and rule file: files of the sizes that take
// different paths through the FILE module (empty, tiny, cached, streamed), a
// directory, an upload area with every write method enabled, and the paths
// that never reach a file (Fail, Redirect, Proxy, a missing one). Made fresh
// in a temporary directory; the bytes come from a fixed generator, so every
// run serves the same documents.
//
// The fake upstream behind the Proxy rules serves `/api/*` (an echo of the
// request, and one body of 300 KiB that crosses the client module's 64 KiB
// read buffers) and, behind the HTTP cache (`ProxyCache /c/*`), resources
// with exact bytes: fresh ones small and large (some chunked), one that
// varies on Accept-Encoding, one that must be validated on every use, one
// never stored, and one whose upstream dies mid-body when asked (`?cut=1`).

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Prng } from './prng.js';

const KiB = 1024;

/**
 * Rules: the order matters, every translation rule stops at its first match.
 * `/api/*` goes to the fake upstream (startUpstream) on `upstreamPort`, whose
 * idle connections the pool closes quickly, so they count for nothing once
 * a sequence has settled; without a port it goes nowhere (502).
 */
export function rulesFor(upstreamPort = 1) {
  return [
    'DirAccess On',
    'MaxBodySize 1M /up/*',
    'MaxBodySize 64K',
    'Enable PUT /up/*',
    'Enable DELETE /up/*',
    'Enable POST /up/*',
    'Fail /secret/*',
    'Redirect /old /f/three.txt 301',
    'ProxyIdleTimeout 200ms',
    // An eighth of it (128 KiB) is the largest response stored: every fresh
    // resource fits, and the large ones together do not, so entries are
    // evicted all the time.
    'ProxyCacheSize 1M',
    'ProxyCache /c/*',
    'Enable PUT /c/*',
    'Enable POST /c/*',
    'Enable DELETE /c/*',
    `Proxy /api/* http://127.0.0.1:${upstreamPort}/*`,
    `Proxy /c/* http://127.0.0.1:${upstreamPort}/c/*`,
    'Pass /*',
  ].join('\n');
}

export const RULES = rulesFor();

/**
 * The upstream of `/api/*` and `/c/*`. Under `/api/` (mapped to `/`): OPTIONS
 * gets 204, `/big` the bytes of API_BIG, anything else, once its body is
 * read, 200 and `METHOD path bytes` (so a reply shows which request it
 * answers). Under `/c/`: GET and HEAD of the CACHED resources and of VARY
 * (serveCached), and any other method, once its body is read, 200 and
 * `METHOD path bytes`. Returns { port, close() }.
 */
export async function startUpstream() {
  const server = http.createServer({ keepAliveTimeout: 5000 }, (req, res) => {
    let bytes = 0;
    req.on('data', (c) => (bytes += c.length));
    req.on('error', () => {});
    req.on('end', () => {
      const safe = req.method === 'GET' || req.method === 'HEAD';
      if (req.url.startsWith('/c/') && safe) return serveCached(req, res);
      if (req.url === API_BIG.upstream && safe) return serveBytes(req, res, API_BIG.body, { 'Content-Type': 'application/octet-stream' });
      if (req.method === 'OPTIONS' && !req.url.startsWith('/c/')) {
        res.writeHead(204, { Allow: 'GET, HEAD, OPTIONS' });
        return res.end();
      }
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(`${req.method} ${req.url} ${bytes}\n`);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

const crand = new Prng(20261204);
const TEXT = 'text/plain; charset=utf-8';
const BINARY = 'application/octet-stream';

/**
 * The resources behind the HTTP cache, by path: exact bytes, ETag,
 * Cache-Control and type; `chunked` ones are sent without a length; `cutAt`:
 * with the query `cut=1`, the upstream sends that many bytes of a body whose
 * full length it announced, then closes.
 */
export const CACHED = {
  '/c/small': { body: text(2000, crand), etag: '"s1"', cc: 'max-age=60', type: TEXT },
  '/c/reval': { body: text(3000, crand), etag: '"r1"', cc: 'max-age=0, must-revalidate', type: TEXT },
  '/c/nostore': { body: text(1500, crand), etag: '"n1"', cc: 'no-store', type: TEXT },
  '/c/cut': { body: crand.bytes(100 * KiB), etag: '"x1"', cc: 'max-age=60', type: BINARY, cutAt: 70 * KiB },
};
/** Large fresh resources, 100-121 KiB each (over one read buffer, under the largest stored), odd ones chunked. */
export const BIG = [];
for (let n = 0; n < 8; n++) {
  const path = `/c/big/${n}`;
  BIG.push(path);
  const even = n % 2 === 0;
  CACHED[path] = { body: even ? text(100 * KiB + n * 3 * KiB, crand) : crand.bytes(100 * KiB + n * 3 * KiB), etag: `"b${n}"`, cc: 'max-age=60', type: even ? TEXT : BINARY, chunked: !even };
}

/**
 * `Vary: Accept-Encoding`: a client whose Accept-Encoding lists gzip gets the
 * gzip-coded `gzip` body, any other the `identity` one; each has its ETag.
 */
export const VARY = {
  path: '/c/vary',
  identity: text(5000, crand),
  gzip: text(7000, crand),
  etags: { identity: '"vi"', gzip: '"vg"' },
  /** The variant the upstream chooses for an Accept-Encoding value (undefined: none). */
  variant: (ae) => (ae !== undefined && /(^|,)\s*gzip\s*(;\s*q=(?!0(\.0*)?\s*$)[0-9.]+\s*)?(,|$)/i.test(ae) ? 'gzip' : 'identity'),
};
const VARY_GZIPPED = gzipSync(VARY.gzip);

/** Under `/api/`, not cached: 300 KiB that cross several read buffers. */
export const API_BIG = { target: '/api/big', upstream: '/big', body: crand.bytes(300 * KiB) };

/** RFC 9110 §13.1.2: If-None-Match by weak comparison, or `*`. */
function noneMatch(field, etag) {
  if (field === undefined) return false;
  const strip = (t) => t.trim().replace(/^W\//, '');
  return field.split(',').some((t) => t.trim() === '*' || strip(t) === strip(etag));
}

/** One `bytes=a-b` range within `size` (RFC 9110 §14.1.2), or null: then the whole. */
function oneRange(field, size) {
  const m = /^bytes=(\d+)-(\d+)$/.exec(field ?? '');
  if (m === null) return null;
  const a = Number(m[1]);
  const b = Math.min(Number(m[2]), size - 1);
  return a <= b ? [a, b] : null;
}

/** `body` as the answer to a GET or HEAD: 304 on a matching If-None-Match, 206 on a Range (GET only). */
function serveBytes(req, res, body, headers, { chunked = false, cutAt = -1 } = {}) {
  if (headers.ETag !== undefined && noneMatch(req.headers['if-none-match'], headers.ETag)) {
    res.writeHead(304, headers);
    return res.end();
  }
  const range = req.method === 'GET' ? oneRange(req.headers.range, body.length) : null;
  if (range !== null) {
    const [a, b] = range;
    res.writeHead(206, { ...headers, 'Content-Range': `bytes ${a}-${b}/${body.length}`, 'Content-Length': b - a + 1 });
    return res.end(body.subarray(a, b + 1));
  }
  if (cutAt >= 0 && req.method === 'GET') {
    res.writeHead(200, { ...headers, 'Content-Length': body.length });
    // The upstream dies mid-body: its socket goes once the first part is out.
    return res.write(body.subarray(0, cutAt), () => res.socket?.destroy());
  }
  if (!chunked) {
    res.writeHead(200, { ...headers, 'Content-Length': body.length });
    return res.end(body);
  }
  res.writeHead(200, headers);
  if (req.method === 'HEAD') return res.end();
  for (let i = 0; i < body.length; i += 30000) res.write(body.subarray(i, i + 30000));
  res.end();
}

function serveCached(req, res) {
  const [path, query] = req.url.split('?');
  if (path === VARY.path) {
    const variant = VARY.variant(req.headers['accept-encoding']);
    const headers = { 'Content-Type': TEXT, 'Cache-Control': 'max-age=60', Vary: 'Accept-Encoding', ETag: VARY.etags[variant] };
    if (variant === 'gzip') headers['Content-Encoding'] = 'gzip';
    return serveBytes(req, res, variant === 'gzip' ? VARY_GZIPPED : VARY.identity, headers);
  }
  const r = CACHED[path];
  if (r === undefined) {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    return res.end('not here\n');
  }
  const headers = { 'Content-Type': r.type, 'Cache-Control': r.cc, ETag: r.etag };
  serveBytes(req, res, r.body, headers, { chunked: r.chunked, cutAt: query === 'cut=1' && r.cutAt !== undefined ? r.cutAt : -1 });
}

/**
 * A small memory cache: the 10 KiB documents are cached and often evicted,
 * the 300 KiB one is streamed from disk, so both paths and the eviction run;
 * and no watching, so every cached document is checked on each request (a
 * stat, an async gap) while other connections change the cache.
 */
export const FILE = {
  cacheMaxFile: 16 * KiB,
  cacheMaxTotal: 32 * KiB,
  watch: null,
};

/** Short wire timeouts, so a stuck connection ends within a sequence. */
export const WIRE = {
  headerTimeout: 1000,
  bodyTimeout: 1000,
  keepAliveTimeout: 1500,
  writeTimeout: 1500,
};

function text(size, rand) {
  const words = ['stream', 'anchor', 'request', 'converter', 'format', 'rule', 'proxy', 'file', 'socket', 'byte'];
  let out = '';
  while (out.length < size) out += rand.pick(words) + (rand.chance(0.1) ? '\n' : ' ');
  return Buffer.from(out.slice(0, size), 'latin1');
}

/**
 * Makes the root: returns { base, root, upload, files, cleanup() } where
 * `files` maps each served path (as a request target) to its exact bytes.
 */
export function makeFuzzRoot() {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'streamstack-fuzz-'));
  const root = path.join(base, 'root');
  const rand = new Prng(20240917);
  const files = {
    '/f/empty.txt': Buffer.alloc(0),
    '/f/three.txt': Buffer.from('abc'),
    '/f/10k.bin': rand.bytes(10 * KiB),
    '/f/10k.txt': text(10 * KiB, rand),
    '/f/300k.bin': rand.bytes(300 * KiB),
    '/d/a.txt': Buffer.from('a\n'),
    '/d/b.txt': Buffer.from('bb\n'),
    '/d/sub/c.txt': Buffer.from('c\n'),
  };
  for (const [target, data] of Object.entries(files)) {
    const file = path.join(root, ...target.split('/').filter(Boolean));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, data);
  }
  fs.mkdirSync(path.join(root, 'up'));
  fs.mkdirSync(path.join(root, 'secret'));
  fs.writeFileSync(path.join(root, 'secret', 'x.txt'), 'never served\n');
  return {
    base,
    root,
    upload: path.join(root, 'up'),
    files,
    cleanup: () => fs.rmSync(base, { recursive: true, force: true }),
  };
}

/** Temporary files of interrupted writes (`.name.tmp-HEX`) below `dir`. */
export function temporaries(dir) {
  return fs.readdirSync(dir, { recursive: true }).filter((entry) => /\.tmp-[0-9a-f]+$/.test(entry));
}

/** Empties the upload area between sequences, so it never grows without bound. */
export function clearUploads(dir) {
  for (const entry of fs.readdirSync(dir)) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
}
