// Peer: node:http + http-proxy, a reverse proxy the way most Node stacks build one
// (it is what http-proxy-middleware wraps), with the care a user would take:
// a keep-alive agent for the upstream and X-Forwarded-* like streamstack's.
//
//   node test/bench/peer-http-proxy.js UPSTREAM_URL --port N [--host ADDR]

import * as http from 'node:http';
import { parseArgs } from 'node:util';
import httpProxy from 'http-proxy';
import { listen } from './peer-args.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { port: { type: 'string', short: 'p', default: '0' }, host: { type: 'string', default: '127.0.0.1' } },
});
if (positionals.length !== 1 || !/^http:\/\//.test(positionals[0])) {
  process.stderr.write('http-proxy: usage: http-proxy UPSTREAM_URL --port N [--host ADDR]\n');
  process.exit(2);
}

// Without an agent http-proxy opens a connection per request.
const agent = new http.Agent({ keepAlive: true });
const proxy = httpProxy.createProxyServer({ target: positionals[0], agent, xfwd: true });
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
listen('http-proxy', server, { port: Number(values.port), host: values.host });
