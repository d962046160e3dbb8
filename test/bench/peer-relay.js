// Reference (proxy-100b): a byte relay, not an HTTP proxy. Every client
// connection gets its own connection to the upstream, and whatever one side
// sends is written to the other as it is: no parse, no field, no pool. It
// is the least any Node proxy can cost here (two reads and two writes per
// request, through net's streams), so its row shows how much of a proxy's
// cost per request is Node's and the kernel's, and how much is HTTP.
//
//   node test/bench/peer-relay.js UPSTREAM_URL --port N [--host ADDR]

import * as net from 'node:net';
import { parseArgs } from 'node:util';
import { listen } from './peer-args.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { port: { type: 'string', short: 'p', default: '0' }, host: { type: 'string', default: '127.0.0.1' } },
});
const upstream = positionals.length === 1 ? /^http:\/\/([^/:]+):(\d+)\/?$/.exec(positionals[0]) : null;
if (upstream === null) {
  process.stderr.write('byte relay: usage: peer-relay UPSTREAM_URL --port N [--host ADDR]\n');
  process.exit(2);
}

const server = net.createServer({ noDelay: true }, (client) => {
  const up = net.connect({ host: upstream[1], port: Number(upstream[2]), noDelay: true });
  client.on('data', (chunk) => {
    if (!up.write(chunk)) client.pause();
  });
  up.on('data', (chunk) => {
    if (!client.write(chunk)) up.pause();
  });
  up.on('drain', () => client.resume());
  client.on('drain', () => up.resume());
  // Either side gone: both go (a relay has no message boundary to finish at).
  for (const [a, b] of [[client, up], [up, client]]) {
    a.on('error', () => b.destroy());
    a.on('close', () => b.destroy());
  }
});
listen('byte relay', server, { port: Number(values.port), host: values.host });
