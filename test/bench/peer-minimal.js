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
import { parseArgs } from 'node:util';
import { listen } from './peer-args.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { port: { type: 'string', short: 'p', default: '0' }, host: { type: 'string', default: '127.0.0.1' } },
});
const upstream = positionals.length === 1 ? /^http:\/\/([^/:]+):(\d+)\/?$/.exec(positionals[0]) : null;
if (upstream === null) {
  process.stderr.write('minimal proxy: usage: peer-minimal UPSTREAM_URL --port N [--host ADDR]\n');
  process.exit(2);
}

const MAX_CONNECTIONS = 32;
const END = '\r\n\r\n';

/** Splits a head (without its empty line) into its first line and lower-cased fields. */
function splitHead(text) {
  const lines = text.split('\r\n');
  const fields = {};
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(':');
    fields[lines[i].slice(0, colon).toLowerCase()] = lines[i].slice(colon + 1).trim();
  }
  return { line: lines[0], fields };
}

const idle = [];
const waiting = [];
let open = 0;

/** An upstream connection reading one response at a time: `conn.onResponse(statusLine, fields, body)`. */
function connectUpstream() {
  const socket = net.connect({ host: upstream[1], port: Number(upstream[2]), noDelay: true });
  const conn = { socket, onResponse: null, dead: false };
  let buffered = '';
  socket.on('data', (chunk) => {
    buffered += chunk.latin1Slice(0, chunk.length);
    const end = buffered.indexOf(END);
    if (end === -1) return;
    const { line, fields } = splitHead(buffered.slice(0, end));
    const length = Number(fields['content-length']);
    if (buffered.length < end + 4 + length) return;
    const body = buffered.slice(end + 4, end + 4 + length);
    buffered = buffered.slice(end + 4 + length);
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
  let buffered = '';
  client.on('data', (chunk) => {
    buffered += chunk.latin1Slice(0, chunk.length);
    const end = buffered.indexOf(END);
    if (end === -1) return;
    const { line, fields } = splitHead(buffered.slice(0, end));
    buffered = buffered.slice(end + 4);
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
listen('minimal proxy', server, { port: Number(values.port), host: values.host });
