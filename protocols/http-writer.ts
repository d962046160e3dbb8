// The response head writer: the status line from the reply (whose status the
// request's error stack decided), a cached Date, Server, the framing fields
// derived from the reply's Format and length, then the reply's own fields.
// Framing rules: RFC 9112 §6, and RFC 9110 §6.4.1 for responses without content.

import type { Reply } from '../src/reply.js';
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
  return method === 'HEAD' || status < 200 || status === 204 || status === 304;
}

export interface HeadFraming {
  /** Use chunked transfer coding. */
  chunked: boolean;
  /** Say `Connection: close`. */
  close: boolean;
  /** An HTTP/1.0 client that asked for keep-alive. */
  keepAlive10: boolean;
}

/** Serializes the head. Field values with CR or LF are dropped (no response splitting). */
export function serializeHead(reply: Reply, framing: HeadFraming, server: string): string {
  const status = reply.status;
  let out = statusLine(status) + 'Date: ' + httpDate() + '\r\nServer: ' + server + '\r\n';
  const format = reply.format;
  if (format !== null && status !== 204 && status !== 304) {
    if (reply.headers['Content-Type'] === undefined) out += 'Content-Type: ' + contentType(format) + '\r\n';
    if (format.codings.length > 0) out += 'Content-Encoding: ' + format.codings.join(', ') + '\r\n';
  }
  if (framing.chunked) out += 'Transfer-Encoding: chunked\r\n';
  else if (reply.length >= 0 && status !== 204 && status !== 304 && status >= 200) out += 'Content-Length: ' + reply.length + '\r\n';
  if (framing.close) out += 'Connection: close\r\n';
  else if (framing.keepAlive10) out += 'Connection: keep-alive\r\n';
  const headers = reply.headers;
  for (const name in headers) {
    const value = headers[name]!;
    if (typeof value === 'string') {
      if (safe(value)) out += name + ': ' + value + '\r\n';
    } else {
      for (const v of value) if (safe(v)) out += name + ': ' + v + '\r\n';
    }
  }
  return out + '\r\n';
}

function safe(value: string): boolean {
  return value.indexOf('\n') === -1 && value.indexOf('\r') === -1;
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
