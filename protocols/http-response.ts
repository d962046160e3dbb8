// The reply writer of the HTTP server module: puts one reply on the socket —
// the head (http-writer.ts), then the body as it comes: a Buffer in the same
// write, a file body that writes itself with its own buffers, or any other
// stream piped with backpressure, chunked when its length is unknown. It
// alone decides the framing (RFC 9112 §6): Content-Length or chunked for
// HTTP/1.1, the close for an HTTP/1.0 reply of unknown length. The
// connection (http-connection.ts) decides which reply goes next.

import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { SMALL_BODY, hasNoContent, headWithBody, lastChunk, serializeHead, writeChunk } from './http-writer.js';
import type { Reply, DirectBody } from '../src/reply.js';
import { isDirectBody } from '../src/reply.js';
import type { Request } from '../src/request.js';

const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

/** What the writer needs of a transaction. */
export interface Outgoing {
  readonly reply: Reply | null;
  readonly request: Request | null;
  readonly versionMinor: number;
  /** Say `Connection: close`; the writer sets it for a 1.0 body delimited by the close. */
  close: boolean;
  /** An HTTP/1.0 client that asked for keep-alive. */
  readonly keepAlive10: boolean;
  /** The connection becomes a tunnel after this head. */
  readonly tunnel: boolean;
  /** Set by the writer once it has reported the reply (hooks.written or hooks.cut). */
  reported: boolean;
}

export interface WriterHooks {
  /** The client took bytes (a write stall is measured from here). */
  progress(): void;
  /** The socket's buffer is full: the body waits for a drain. */
  blocked(): void;
  /** A stream body ended (err null) or failed; the socket is destroyed on failure. */
  done(out: Outgoing, err: unknown): void;
  /** A reply has been written whole: for the log. */
  written(out: Outgoing, bytes: number): void;
  /** A reply was cut short after its head (its body failed, or the socket went): for the log. */
  cut(out: Outgoing, bytes: number): void;
}

export class ReplyWriter {
  readonly #socket: Socket;
  readonly #options: { readonly serverName: string };
  readonly #hooks: WriterHooks;
  /** The stream body being written, if any, and its reply. */
  #streaming: Readable | null = null;
  #out: Outgoing | null = null;
  /** The socket's bytesWritten where that body starts. */
  #bodyFrom = 0;
  /** It writes itself (files): a drain is its business, not ours. */
  #direct = false;

  /** `options` is read at each reply: a restart may change the Server name. */
  constructor(socket: Socket, options: { readonly serverName: string }, hooks: WriterHooks) {
    this.#socket = socket;
    this.#options = options;
    this.#hooks = hooks;
  }

  /** A stream body is being written: nothing else may write. */
  get busy(): boolean {
    return this.#streaming !== null;
  }

  /** The socket drained: a paused piped body goes on. */
  drained(): void {
    if (this.#streaming !== null && !this.#direct) this.#streaming.resume();
  }

  /** The socket is gone: the body being written is destroyed, and its reply reported cut short. */
  destroy(): void {
    const body = this.#streaming;
    if (body === null) return;
    this.#streaming = null;
    body.destroy();
    this.#cut(this.#out!);
  }

  /** The body bytes of the stream being written handed to the socket so far (those the kernel took, once it is destroyed). */
  #cut(out: Outgoing): void {
    this.#out = null;
    out.reported = true;
    this.#hooks.cut(out, Math.max(0, this.#socket.bytesWritten - this.#bodyFrom));
  }

  #written(out: Outgoing, bytes: number): void {
    out.reported = true;
    this.#hooks.written(out, bytes);
  }

  /**
   * Writes `out.reply`. Returns true when it is written whole, false when a
   * stream body goes on (then `hooks.done` follows).
   */
  write(out: Outgoing): boolean {
    const reply = out.reply!;
    const request = out.request;
    const noContent = hasNoContent(reply.status, request?.method);
    let chunked = false;
    if (!noContent && reply.length < 0) {
      if (out.versionMinor === 1) chunked = true;
      else out.close = true; // HTTP/1.0: the close delimits the body
    }
    const head = serializeHead(reply, { chunked, close: out.close, keepAlive10: out.keepAlive10 && !out.close, tunnel: out.tunnel }, this.#options.serverName);
    const socket = this.#socket;
    const body = reply.body;
    if (noContent || body === null) {
      if (body !== null && !Buffer.isBuffer(body)) body.destroy();
      socket.write(head, 'latin1');
      this.#written(out, 0);
      return true;
    }
    if (Buffer.isBuffer(body)) {
      if (!chunked && body.length <= SMALL_BODY) {
        // Head and a small body in one buffer: one write, no writev.
        socket.write(headWithBody(head, body));
      } else {
        // One writev, not a write per piece: the client wakes once for the whole reply.
        socket.cork();
        socket.write(head, 'latin1');
        if (chunked) {
          if (body.length > 0) {
            socket.write(body.length.toString(16) + '\r\n', 'latin1');
            socket.write(body);
            socket.write(CRLF);
          }
          socket.write(LAST_CHUNK);
        } else {
          socket.write(body);
        }
        socket.uncork();
      }
      this.#written(out, body.length);
      return true;
    }
    if (!chunked && isDirectBody(body)) {
      socket.write(head, 'latin1');
      this.#bodyFrom = socket.bytesWritten;
      this.#writeDirect(out, body);
      return false;
    }
    // The head waits for what the body has already buffered (a proxied reply
    // has often arrived whole): corked until the stream's first turn has run,
    // they leave in one writev.
    socket.cork();
    socket.write(head, 'latin1');
    this.#bodyFrom = socket.bytesWritten;
    this.#pipe(out, body, chunked);
    process.nextTick(uncork, socket);
    return false;
  }

  /** A body that writes itself, reusing its buffers (files). */
  #writeDirect(out: Outgoing, body: Readable & DirectBody): void {
    this.#streaming = body;
    this.#out = out;
    this.#direct = true;
    body.on('error', () => {}); // reported through `done`
    body.writeTo(this.#socket, () => this.#hooks.progress(), (err) => {
      if (this.#streaming !== body) return; // destroyed: the connection has moved on
      this.#streaming = null;
      this.#direct = false;
      if (err === null) this.#written(out, out.reply!.length);
      this.#end(out, err);
    });
  }

  #pipe(out: Outgoing, body: Readable, chunked: boolean): void {
    const socket = this.#socket;
    const expected = out.reply!.length;
    let sent = 0;
    this.#streaming = body;
    this.#out = out;
    this.#direct = false;
    const onData = (chunk: Buffer): void => {
      if (chunk.length === 0) return;
      sent += chunk.length;
      let ok: boolean;
      if (chunked) {
        ok = writeChunk(socket, chunk);
      } else {
        if (expected >= 0 && sent > expected) return fail(new Error('body longer than its Content-Length'));
        ok = socket.write(chunk);
      }
      if (!ok) {
        body.pause();
        this.#hooks.blocked();
      }
    };
    const cleanup = (): boolean => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', fail);
      body.off('close', onClose);
      if (this.#streaming !== body) return false;
      this.#streaming = null;
      return true;
    };
    const onEnd = (): void => {
      if (!cleanup()) return;
      // A body shorter than its Content-Length would desynchronise the client.
      if (expected >= 0 && sent !== expected) return this.#end(out, new Error('body shorter than its Content-Length'));
      // The trailers are known once the body has ended (a proxied upstream's).
      if (chunked) socket.write(lastChunk(out.reply!.trailers), 'latin1');
      this.#written(out, sent);
      this.#end(out, null);
    };
    const fail = (err: unknown): void => {
      body.destroy();
      if (cleanup()) this.#end(out, err);
    };
    // Destroyed without an error and without its end: the body is incomplete.
    const onClose = (): void => {
      if (!body.readableEnded) fail(new Error('body closed before its end'));
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', fail);
    body.once('close', onClose);
    // A reply waits for its turn in the pipeline: its body may have failed
    // before anyone listened (a proxied body cut by the upstream, passed
    // through a converter or the cache's copy), and its events are gone.
    if (body.destroyed) fail(body.errored ?? new Error('body destroyed before it was written'));
  }

  #end(out: Outgoing, err: unknown): void {
    // The head is gone: after a failed body the only honest signal left is the
    // end of the connection (no terminating chunk, no missing bytes: the body
    // must not look complete). What is corked (the replies before this one,
    // written in the same batch) goes first. With a length or chunks, the
    // connection's end before the body's says so, and the connection closes
    // in stages (hooks.done), so that a reset does not erase the replies
    // before this one in the client's buffers (RFC 9112 §9.6); a body that
    // only the close delimits can only be cut by a reset.
    if (err !== null) {
      const socket = this.#socket;
      while (socket.writableCorked > 0) socket.uncork();
      if (out.reply!.length < 0 && out.versionMinor !== 1) socket.destroy();
      this.#cut(out);
    } else this.#out = null;
    this.#hooks.done(out, err);
  }
}

function uncork(socket: Socket): void {
  socket.uncork();
}
