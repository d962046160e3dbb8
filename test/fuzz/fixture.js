// The fuzzer's document root and rule file: files of the sizes that take
// different paths through the FILE module (empty, tiny, cached, streamed), a
// directory, an upload area with every write method enabled, and the paths
// that never reach a file (Fail, Redirect, Proxy, a missing one). Made fresh
// in a temporary directory; the bytes come from a fixed generator, so every
// run serves the same documents.

import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
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
    `Proxy /api/* http://127.0.0.1:${upstreamPort}/*`,
    'Pass /*',
  ].join('\n');
}

export const RULES = rulesFor();

/**
 * The upstream of `/api/*`: answers OPTIONS with 204 and anything else,
 * once it has read the body, with 200 and `METHOD path bytes` (so a reply
 * shows which request it answers). Returns { port, close() }.
 */
export async function startUpstream() {
  const server = http.createServer({ keepAliveTimeout: 5000 }, (req, res) => {
    let bytes = 0;
    req.on('data', (c) => (bytes += c.length));
    req.on('error', () => {});
    req.on('end', () => {
      if (req.method === 'OPTIONS') {
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
