// The upstream of the proxy scenarios: a raw `node:net` server answering
// GET and HEAD of /100b.bin and /1m.bin of ROOT with responses serialized
// once at start (head and body in one Buffer, written as it is: no parse
// beyond the request line, no allocation per response), keep-alive, so the
// proxies, not the upstream, do the work measured: it runs on wrk's CPU,
// and a costly upstream would cap every proxy alike and squeeze the ratios
// towards 1. Any other path is 404. Pipelined requests are answered in order.
//
// For the cached-proxy scenarios, /cache/4k.bin and /cache/64k.bin answer
// 4k.bin and 64k.bin with `Cache-Control: public, max-age=3600`, so a caching
// proxy stores them; their query is ignored (/cache/4k.bin?n=7 is 4k.bin), so
// the miss scenario's distinct URLs all get the same bytes. The other paths
// send no Cache-Control and are matched with their query, as before.
//
//   node test/bench/upstream.js ROOT --port N [--host ADDR]

import * as net from 'node:net';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { peerArgs, listen } from './peer-args.js';

export const UPSTREAM_FILES = ['100b.bin', '1m.bin'];
/** Served under /cache/ with freshness for an hour: cacheable by any shared cache (RFC 9111 §3, §5.2.2.9). */
export const CACHED_FILES = ['4k.bin', '64k.bin'];
const CACHEABLE = 'Cache-Control: public, max-age=3600\r\n';

/** Longer than any pause between two runs of the same proxy, so its pool stays warm. */
const IDLE_TIMEOUT = 60_000;
/** A request head larger than this is refused (the connection closed): the proxies send a few hundred bytes. */
const MAX_HEAD = 64 * 1024;

const options = peerArgs('upstream');

function response(status, reason, type, body, extra = '') {
  const head = `HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\n${extra}` +
    `Connection: keep-alive\r\nKeep-Alive: timeout=${IDLE_TIMEOUT / 1000}\r\n\r\n`;
  const headBytes = Buffer.from(head, 'latin1');
  return { get: Buffer.concat([headBytes, body]), head: headBytes };
}

const answers = new Map(
  UPSTREAM_FILES.map((name) => [`/${name}`, response(200, 'OK', 'application/octet-stream', readFileSync(path.join(options.root, name)))]),
);
const cached = new Map(
  CACHED_FILES.map((name) => [`/cache/${name}`, response(200, 'OK', 'application/octet-stream', readFileSync(path.join(options.root, name)), CACHEABLE)]),
);

/** The answer to a request target: a /cache/ path without its query, any other exactly. */
function lookup(target) {
  if (target.startsWith('/cache/')) {
    const q = target.indexOf('?');
    return cached.get(q === -1 ? target : target.slice(0, q));
  }
  return answers.get(target);
}
const NOT_FOUND = response(404, 'Not Found', 'text/plain', Buffer.from('not found\n'));

/** Answers every complete request at the start of `buf`; returns what is left of it. */
function answer(socket, buf) {
  for (;;) {
    const end = buf.indexOf('\r\n\r\n');
    if (end === -1) {
      if (buf.length > MAX_HEAD) socket.destroy();
      return buf;
    }
    const lineEnd = buf.indexOf('\r\n');
    const line = buf.latin1Slice(0, lineEnd);
    const sp1 = line.indexOf(' ');
    const sp2 = line.indexOf(' ', sp1 + 1);
    const method = line.slice(0, sp1);
    const hit = lookup(line.slice(sp1 + 1, sp2)) ?? NOT_FOUND;
    // A request body (none is sent in the benchmark) is skipped by its length.
    const cl = /\r\ncontent-length:\s*(\d+)/i.exec(buf.latin1Slice(lineEnd, end));
    const next = end + 4 + (cl === null ? 0 : Number(cl[1]));
    if (next > buf.length) return buf;
    socket.write(method === 'HEAD' ? hit.head : hit.get);
    buf = buf.subarray(next);
  }
}

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.setTimeout(IDLE_TIMEOUT, () => socket.destroy());
  socket.on('error', () => {});
  let rest = null;
  socket.on('data', (chunk) => {
    const buf = rest === null ? chunk : Buffer.concat([rest, chunk]);
    const left = answer(socket, buf);
    rest = left.length === 0 ? null : left;
  });
});
listen('upstream', server, options);
