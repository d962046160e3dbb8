// Reference (proxy-100b): a byte relay, not an HTTP proxy. Every client
// connection gets its own connection to the upstream, and whatever one side
// sends is written to the other as it is: no parse, no field, no pool. It
// is the least any Node proxy can cost here (two reads and two writes per
// request, through net's streams), so its row shows how much of a proxy's
// cost per request is Node's and the kernel's, and how much is HTTP.
//
//   node test/bench/peer-relay.js UPSTREAM_URL --port N [--host ADDR]

import * as net from 'node:net';
import { listen, proxyPeerArgs } from './peer-args.js';

const args = proxyPeerArgs('byte relay');
const upstream = args.upstream;

const server = net.createServer({ noDelay: true }, (client) => {
  const up = net.connect({ host: upstream.host, port: upstream.port, noDelay: true });
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
listen('byte relay', server, args);
