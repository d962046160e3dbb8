// The upstream of the proxy scenarios: plain node:http serving /100b.bin and
// /1m.bin of ROOT from memory (read once at start), keep-alive, so the proxies,
// not the upstream, do the work measured. Any other path is 404.
//
//   node test/bench/upstream.js ROOT --port N [--host ADDR]

import * as http from 'node:http';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { peerArgs, listen } from './peer-args.js';

export const UPSTREAM_FILES = ['100b.bin', '1m.bin'];

const options = peerArgs('upstream');
const bodies = new Map(
  UPSTREAM_FILES.map((name) => {
    const body = readFileSync(path.join(options.root, name));
    return [`/${name}`, { body, headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length) } }];
  }),
);
const server = http.createServer((req, res) => {
  const hit = bodies.get(req.url);
  if (!hit) {
    res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': '10' });
    res.end('not found\n');
    return;
  }
  res.writeHead(200, hit.headers);
  res.end(req.method === 'HEAD' ? undefined : hit.body);
});
// Longer than any pause between two runs of the same proxy, so its pool stays warm.
server.keepAliveTimeout = 60_000;
listen('upstream', server, options);
