// Peer: node:http + http-proxy, a reverse proxy the way most Node stacks build one
// (it is what http-proxy-middleware wraps), with the care a user would take:
// a keep-alive agent for the upstream and X-Forwarded-* like streamstack's.
//
//   node test/bench/peer-http-proxy.js UPSTREAM_URL --port N [--host ADDR]

import * as http from 'node:http';
import httpProxy from 'http-proxy';
import { listen, proxyPeerArgs } from './peer-args.js';

const args = proxyPeerArgs('http-proxy');

// Without an agent http-proxy opens a connection per request.
const agent = new http.Agent({ keepAlive: true });
const proxy = httpProxy.createProxyServer({ target: args.upstream.url, agent, xfwd: true });
// http-proxy aborts the upstream request on the client request's 'aborted',
// which Node (16 and later) no longer emits once the request was read whole:
// a client leaving mid-response (wrk at the end of every run) would leave the
// upstream response paused, its socket held for good. Destroy it ourselves.
proxy.on('proxyReq', (proxyReq, req, res) => {
  res.once('close', () => {
    if (!res.writableFinished) proxyReq.destroy();
  });
});
proxy.on('error', (err, req, res) => {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(502, { 'Content-Type': 'text/plain' });
  res.end(`bad gateway: ${err.message}\n`);
});
const server = http.createServer((req, res) => proxy.web(req, res));
listen('http-proxy', server, args);
