// Peer: node:http + send, the static file server most Node stacks use
// (express.static and serve-static are built on it).

import * as http from 'node:http';
import send from 'send';
import { peerArgs, listen } from './peer-args.js';

const options = peerArgs('node-send');
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  send(req, url.pathname, { root: options.root }).pipe(res);
});
listen('node-send', server, options);
