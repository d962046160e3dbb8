// Peer: plain node:http answering every request with a fixed 13-byte body.
// The ceiling of Node's own HTTP stack: no file system, no routing.

import * as http from 'node:http';
import { peerArgs, listen } from './peer-args.js';

const BODY = Buffer.from('Hello, world\n', 'latin1');
const HEADERS = { 'Content-Type': 'text/plain', 'Content-Length': String(BODY.length) };

const options = peerArgs('node-fixed');
const server = http.createServer((req, res) => {
  res.writeHead(200, HEADERS);
  res.end(BODY);
});
listen('node-fixed', server, options);
