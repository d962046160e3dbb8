// Peer: node:http + the compression middleware + send: gzip on the fly per
// request (level 6 by default), as express + compression + serve-static does.

import * as http from 'node:http';
import send from 'send';
import compression from 'compression';
import { peerArgs, listen } from './peer-args.js';

const options = peerArgs('send-compression');
const compress = compression();
const server = http.createServer((req, res) => {
  compress(req, res, (err) => {
    if (err) {
      res.statusCode = 500;
      res.end(String(err.message));
      return;
    }
    const url = new URL(req.url, 'http://localhost');
    send(req, url.pathname, { root: options.root }).pipe(res);
  });
});
listen('send-compression', server, options);
