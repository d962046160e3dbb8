// Reference (proxy-100b): the least HTTP a Node proxy can do, not a proxy to
// use. Heads are split at CRLF into a field map with no check of any kind;
// the upstream gets the request line, Host, X-Forwarded-For and Via on a
// keep-alive connection from a pool of at most 32; the response must have a
// Content-Length, and the client gets its status line, Content-Type,
// Content-Length, Via and Date. No request body, no chunked coding, no
// timeout, no rule, no converter: what it costs beyond the byte relay is the
// floor of HTTP's own work here, and what streamstack costs beyond it is the
// price of doing that work correctly.
//
//   node test/bench/peer-minimal.js UPSTREAM_URL --port N [--host ADDR]

import * as net from 'node:net';
import { listen, proxyPeerArgs } from './peer-args.js';

const args = proxyPeerArgs('minimal proxy');
const upstream = args.upstream;

const MAX_CONNECTIONS = 32;
const END = '\r\n\r\n';

/**
 * Calls `onMessage(firstLine, fields, body)` for each message `socket` reads:
 * heads split at CRLF into lower-cased fields with no check, then
 * `bodyLength(fields)` bytes of body (a latin1 string).
 */
function onMessages(socket, bodyLength, onMessage) {
  let buffered = '';
  socket.on('data', (chunk) => {
    buffered += chunk.latin1Slice(0, chunk.length);
    for (let end = buffered.indexOf(END); end !== -1; end = buffered.indexOf(END)) {
      const lines = buffered.slice(0, end).split('\r\n');
      const fields = {};
      for (let i = 1; i < lines.length; i++) {
        const colon = lines[i].indexOf(':');
        fields[lines[i].slice(0, colon).toLowerCase()] = lines[i].slice(colon + 1).trim();
      }
      const length = bodyLength(fields);
      if (buffered.length < end + 4 + length) return;
      const body = buffered.slice(end + 4, end + 4 + length);
      buffered = buffered.slice(end + 4 + length);
      onMessage(lines[0], fields, body);
    }
  });
}

const idle = [];
const waiting = [];
let open = 0;

/** An upstream connection reading one response at a time: `conn.onResponse(statusLine, fields, body)`. */
function connectUpstream() {
  const socket = net.connect({ host: upstream.host, port: upstream.port, noDelay: true });
  const conn = { socket, onResponse: null, dead: false };
  onMessages(socket, (fields) => Number(fields['content-length']), (line, fields, body) => {
    const done = conn.onResponse;
    conn.onResponse = null;
    done(line, fields, body);
  });
  const gone = () => {
    if (conn.dead) return;
    conn.dead = true;
    open--;
    const i = idle.indexOf(conn);
    if (i !== -1) idle.splice(i, 1);
    conn.onResponse?.(null);
  };
  socket.on('error', gone);
  socket.on('close', gone);
  return conn;
}

function lease(use) {
  const conn = idle.pop();
  if (conn !== undefined) return use(conn);
  if (open < MAX_CONNECTIONS) {
    open++;
    return use(connectUpstream());
  }
  waiting.push(use);
}

function release(conn) {
  if (conn.dead) return;
  const next = waiting.shift();
  if (next !== undefined) next(conn);
  else idle.push(conn);
}

const server = net.createServer({ noDelay: true }, (client) => {
  onMessages(client, () => 0, (line, fields) => {
    const head = `${line}\r\nHost: ${fields.host}\r\nX-Forwarded-For: ${client.remoteAddress}\r\nVia: 1.1 minimal\r\n\r\n`;
    lease((conn) => {
      conn.onResponse = (status, got, body) => {
        if (status === null) return void client.destroy();
        client.write(`${status}\r\nContent-Type: ${got['content-type']}\r\nContent-Length: ${body.length}\r\n` +
          `Via: 1.1 minimal\r\nDate: ${new Date().toUTCString()}\r\n\r\n${body}`, 'latin1');
        release(conn);
      };
      conn.socket.write(head, 'latin1');
    });
  });
  client.on('error', () => client.destroy());
});
listen('minimal proxy', server, args);
