// The response head writer: the status line from the reply (whose status the
// request's error stack decided), a cached Date, Server, the framing fields
// derived from the reply's Format and length, then the reply's own fields.
// Framing rules: RFC 9112 §6, and RFC 9110 §6.4.1 for responses without content.

import type { Writable } from 'node:stream';
import type { Reply, ReplyHeaders } from '../src/reply.js';
import { contentType } from '../src/format.js';
import { STATUS_TEXT } from '../src/errors.js';

let dateCache = '';
let dateSecond = -1;

/** The IMF-fixdate of now, rebuilt at most once a second (RFC 9110 §5.6.7). */
export function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateCache = new Date(now).toUTCString();
  }
  return dateCache;
}

const statusLines = new Map<number, string>();

function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Unknown'}\r\n`;
    statusLines.set(status, line);
  }
  return line;
}

/** Statuses and methods whose responses never carry content (RFC 9110 §6.4.1). */
export function hasNoContent(status: number, method: string | undefined): boolean {
  return method === 'HEAD' || status < 200 || status === 204 || status === 304 || (method === 'CONNECT' && status < 300);
}

export interface HeadFraming {
  /** Use chunked transfer coding. */
  chunked: boolean;
  /** Say `Connection: close`. */
  close: boolean;
  /** An HTTP/1.0 client that asked for keep-alive. */
  keepAlive10: boolean;
  /**
   * The connection becomes a tunnel after this head (a 101, a 2xx to
   * CONNECT): no length, no close; a 101 says `Connection: upgrade` and
   * keeps the reply's `Upgrade` (RFC 9110 §7.8, §9.3.6).
   */
  tunnel?: boolean;
}

/** What a reply's own field is to the writer. */
const enum Field {
  Plain,
  /** Framing and connection management: the writer's alone (RFC 9112 §6, §9.6; RFC 9110 §7.6.1). */
  Owned,
  /** Not a token, or a value that could split the head: never sent. */
  Invalid,
  ContentType,
  ContentEncoding,
  Date,
  Server,
}

const OWNED: Readonly<Record<string, Field>> = {
  'content-length': Field.Owned,
  'transfer-encoding': Field.Owned,
  connection: Field.Owned,
  'keep-alive': Field.Owned,
  upgrade: Field.Owned,
  'content-type': Field.ContentType,
  'content-encoding': Field.ContentEncoding,
  date: Field.Date,
  server: Field.Server,
};

/** tchar (RFC 9110 §5.6.2). */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/**
 * Field names seen before, classified once: replies repeat the same few
 * names, so the case-insensitive check costs one map lookup per field.
 */
const kinds = new Map<string, Field>();
const MAX_KINDS = 1024;

function kindOf(name: string): Field {
  let kind = kinds.get(name);
  if (kind !== undefined) return kind;
  kind = Field.Plain;
  if (name.length === 0) kind = Field.Invalid;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 128 || TCHAR[c] !== 1) {
      kind = Field.Invalid;
      break;
    }
  }
  if (kind === Field.Plain) kind = OWNED[name.toLowerCase()] ?? Field.Plain;
  if (kinds.size >= MAX_KINDS) kinds.clear();
  kinds.set(name, kind);
  return kind;
}

/**
 * Serializes the head. The framing fields are the writer's alone: a reply's
 * own Content-Length, Transfer-Encoding, Connection, Keep-Alive or Upgrade
 * never reaches the wire. Content-Type and Content-Encoding come from the
 * format unless the reply names them (in any case); Date and Server are
 * added unless it has them (a proxy keeps the origin's). A name that is not
 * a token, or a value with CR, LF or NUL, is dropped (no response splitting).
 */
export function serializeHead(reply: Reply, framing: HeadFraming, server: string): string {
  const status = reply.status;
  const headers = reply.headers;
  let own = '';
  let hasType = false;
  let hasEncoding = false;
  let hasDate = false;
  let hasServer = false;
  const upgrade = framing.tunnel === true && status === 101;
  for (const name in headers) {
    const kind = kindOf(name);
    if (kind === Field.Invalid || (kind === Field.Owned && !(upgrade && name.toLowerCase() === 'upgrade'))) continue;
    const value = headers[name]!;
    let sent = false;
    if (typeof value === 'string') {
      if (safe(value)) {
        own += name + ': ' + value + '\r\n';
        sent = true;
      }
    } else {
      for (const v of value) {
        if (safe(v)) {
          own += name + ': ' + v + '\r\n';
          sent = true;
        }
      }
    }
    if (!sent) continue;
    if (kind === Field.ContentType) hasType = true;
    else if (kind === Field.ContentEncoding) hasEncoding = true;
    else if (kind === Field.Date) hasDate = true;
    else if (kind === Field.Server) hasServer = true;
  }
  let out = statusLine(status);
  if (!hasDate) out += 'Date: ' + httpDate() + '\r\n';
  if (!hasServer) out += 'Server: ' + server + '\r\n';
  const format = reply.format;
  if (format !== null && status !== 204 && status !== 304) {
    if (!hasType) out += 'Content-Type: ' + contentType(format) + '\r\n';
    if (!hasEncoding && format.codings.length > 0) out += 'Content-Encoding: ' + format.codings.join(', ') + '\r\n';
  }
  if (framing.tunnel === true) {
    if (upgrade) out += 'Connection: upgrade\r\n';
  } else if (framing.chunked) out += 'Transfer-Encoding: chunked\r\n';
  else if (reply.length >= 0 && status !== 204 && status !== 304 && status >= 200) out += 'Content-Length: ' + reply.length + '\r\n';
  if (framing.tunnel === true) {
    // A tunnel's head says nothing of closing or keeping the connection.
  } else if (framing.close) out += 'Connection: close\r\n';
  else if (framing.keepAlive10) out += 'Connection: keep-alive\r\n';
  return out + own + '\r\n';
}

/**
 * An interim response's head (RFC 9110 §15.2: 100, 103…): the status line
 * and the fields given, checked as a final head's are, framing fields
 * dropped. No Date or Server: the final reply carries them.
 */
export function serializeInterim(status: number, headers: ReplyHeaders): string {
  let out = statusLine(status);
  for (const name in headers) {
    const kind = kindOf(name);
    if (kind === Field.Invalid || kind === Field.Owned) continue;
    const value = headers[name]!;
    for (const v of typeof value === 'string' ? [value] : value) if (safe(v)) out += name + ': ' + v + '\r\n';
  }
  return out + '\r\n';
}

/**
 * Fields a trailer section never carries (RFC 9110 §6.5.1): framing,
 * routing, request modifiers, authentication, response control data and
 * what describes the content as a whole.
 */
const NOT_TRAILERS = new Set([
  'content-length', 'transfer-encoding', 'trailer', 'te', 'connection', 'keep-alive', 'upgrade', 'host',
  'content-encoding', 'content-type', 'content-range', 'content-location', 'cache-control', 'expires', 'age', 'date',
  'location', 'retry-after', 'vary', 'set-cookie', 'authorization', 'www-authenticate', 'proxy-authenticate',
  'proxy-authorization', 'expect', 'range', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since',
  'if-range', 'max-forwards',
]);

const LAST_CHUNK = '0\r\n\r\n';
const CRLF = Buffer.from('\r\n', 'latin1');

/** One chunk of a chunked body (RFC 9112 §7.1): size, data and CRLF in one write. False when the socket is full. */
export function writeChunk(socket: Writable, chunk: Buffer): boolean {
  socket.cork();
  socket.write(chunk.length.toString(16) + '\r\n', 'latin1');
  socket.write(chunk);
  const ok = socket.write(CRLF);
  socket.uncork();
  return ok;
}

/** The last chunk of a chunked body, with the trailer fields that may be sent (RFC 9112 §7.1.2). */
export function lastChunk(trailers: ReplyHeaders | undefined): string {
  if (trailers === undefined) return LAST_CHUNK;
  let out = '0\r\n';
  for (const name in trailers) {
    if (kindOf(name) === Field.Invalid || NOT_TRAILERS.has(name.toLowerCase())) continue;
    const value = trailers[name]!;
    for (const v of typeof value === 'string' ? [value] : value) if (safe(v)) out += name + ': ' + v + '\r\n';
  }
  return out + '\r\n';
}

function safe(value: string): boolean {
  return value.indexOf('\n') === -1 && value.indexOf('\r') === -1 && value.indexOf('\0') === -1;
}

/** Bodies up to this size are copied next to their head and written once. */
export const SMALL_BODY = 16 * 1024;

/**
 * Small replies are carved from a shared slab, as Node's Buffer pool does
 * for pieces under 4 KiB: a reply of a few KiB then costs no malloc, no
 * ArrayBuffer and no sweeping. A slab is garbage once every reply cut from
 * it has been written.
 */
const SLAB = 128 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB);
let slabUsed = 0;

/** The head and a body of at most SMALL_BODY bytes in one buffer. */
export function headWithBody(head: string, body: Buffer): Buffer {
  const headLength = Buffer.byteLength(head, 'latin1');
  const size = headLength + body.length;
  let out: Buffer;
  if (size > SLAB >>> 2) {
    out = Buffer.allocUnsafe(size); // a head of unusual size: its own buffer
  } else {
    if (slabUsed + size > SLAB) {
      slab = Buffer.allocUnsafeSlow(SLAB);
      slabUsed = 0;
    }
    out = slab.subarray(slabUsed, slabUsed + size);
    slabUsed = (slabUsed + size + 7) & ~7; // 8-byte aligned, as Node's pool keeps them
  }
  out.write(head, 0, headLength, 'latin1');
  body.copy(out, headLength);
  return out;
}
