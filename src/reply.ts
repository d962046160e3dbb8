// Reply: what a protocol module hands back for a request (libwww's response
// object). The response writer derives Content-Type, Content-Encoding and
// Content-Length from `format` and `length`, so converters only change those.

import type { Duplex, Readable, Writable } from 'node:stream';
import type { Format } from './format.js';
import type { Anchor } from './anchor.js';
import { HttpError, STATUS_TEXT } from './errors.js';
import { makeFormat } from './format.js';

/** Header names in their canonical case; the writer emits them as given. */
export type ReplyHeaders = Record<string, string | string[]>;

export interface Reply {
  status: number;
  headers: ReplyHeaders;
  /**
   * The representation's format; null when there is none (204…). A 304's is
   * that of the representation it confirms, or null: the writer sends no
   * Content-Type for it, and the converter stack derives the 304's Vary from it.
   */
  format: Format | null;
  /** Body length in bytes when known, else -1 (chunked on the wire). */
  length: number;
  /** A Buffer (memory cache, small bodies) or a stream; null for none. */
  body: Buffer | Readable | null;
  anchor?: Anchor | null;
  /**
   * A proxied response's own Date field, as the upstream sent it: the
   * writer sends the server's Date, the HTTP cache needs the origin's
   * (RFC 9111 §4.2.3).
   */
  originDate?: string;
  /**
   * Fields to send after a chunked body (a proxied upstream's trailers),
   * filled by the time the body ends; dropped when the body is converted or
   * not sent chunked.
   */
  trailers?: ReplyHeaders;
  /**
   * With a 101 (Switching Protocols) to an `Upgrade` request, or a 2xx to
   * CONNECT: takes the connection once the head is written, with the bytes
   * the client sent after its request (RFC 9110 §7.8, §9.3.6). The socket
   * comes paused (`pipe` or `resume` starts it); the HTTP server lets go of
   * it for good, but destroys it when the server stops.
   */
  tunnel?: (socket: Duplex, head: Buffer) => void;
  /**
   * The error of the error stack this reply was made from (errorReply): the
   * server presents it to the client as an error page (src/error-page.ts).
   */
  error?: HttpError;
}

/**
 * A stream body that can also write itself to the socket, reusing its
 * buffers (the FILE module's). The writer uses `writeTo` when the body goes
 * out as it is; converters read it as any other stream.
 */
export interface DirectBody {
  /** `progress` after each chunk handed to the socket; `done` once, at the end or on failure. */
  writeTo(socket: Writable, progress: () => void, done: (err: Error | null) => void): void;
}

export function isDirectBody(body: Readable): body is Readable & DirectBody {
  return typeof (body as Partial<DirectBody>).writeTo === 'function';
}

const TEXT_PLAIN = makeFormat('text/plain', { charset: 'utf-8' });

/** A small text reply; used for errors and redirects. */
export function textReply(status: number, text: string, headers: ReplyHeaders = {}): Reply {
  const body = Buffer.from(text + '\n', 'utf8');
  return { status, headers, format: TEXT_PLAIN, length: body.length, body };
}

/**
 * The reply generated from an error (the top of a request's error stack):
 * one line of plain text, which the server replaces with the page the
 * request negotiates (src/error-page.ts); the wire sends it as it is for
 * errors it answers itself (a malformed request, a timeout).
 */
export function errorReply(err: HttpError): Reply {
  const reason = STATUS_TEXT[err.status] ?? 'Error';
  const reply = textReply(err.status, `${err.status} ${reason}: ${err.publicMessage}`, err.headers ? { ...err.headers } : {});
  reply.error = err;
  return reply;
}
