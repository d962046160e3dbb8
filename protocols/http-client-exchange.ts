// One request and its response on one upstream connection, for the HTTP
// client module (libwww HTTP.c's state machine, undici's client-h1). It
// writes the request head and streams the request body (Content-Length or
// chunked, pausing the client's body while the upstream's socket is full),
// parses the response with the parser's response mode, and hands back the
// final head with a body stream that pauses the upstream socket while its
// reader is slow. Interim 1xx responses go to the request's `interim()`
// (which relays them to the client in turn), through the field rules; a
// 101 to a request that asked for an Upgrade ends the exchange with the
// socket, which leaves the pool.
//
// `Expect: 100-continue` (RFC 9110 §10.1.1): the expectation goes upstream
// with the head, and the client's body is opened (which lets the server send
// its own 100 if the upstream's did not reach the client) only on the
// upstream's 100, or after `continue` ms of silence about it, since the
// upstream may be HTTP/1.0 or ignore expectations. A final response before
// either is the answer: the body is never read.
//
// A read may land in a reused buffer (http-client-reads.ts): what is kept
// past onData's return retains it (a chunk written to the client's socket,
// bytes waiting for a slow reader) or is copied (a body pushed into a stream).
//
// A response whose Content-Length is at most GATHERED_BODY is gathered whole
// before the exchange answers, and its body handed back as a Buffer: the
// server writes head and body at once, with no stream between them; a
// failure before its end is then a clean 502, never a torn reply. A larger
// one is a stream that can also write itself (DirectBody): when the server
// sends it as it is, each chunk read from the upstream goes straight to the
// client's socket, no copy and no stream between, and a full client socket
// pauses the upstream's until it drains.
//
// Endings: a response read to its end, with the request sent whole and
// keep-alive allowed, gives the connection back to the pool; every other
// ending destroys it, and an error after the head errors the body stream,
// so the reply is never taken for complete when it is not.
//
// Timeouts by phase, on the connection's one timer (http-timer.ts), reset whenever bytes move: while the request
// body is sent and while the response body arrives, `body` ms of silence;
// from the end of the request to the response head, `head` ms; while the
// body waits for a 100, `continue` ms, after which it is sent. A reader
// that pauses the body stops the clock (the server times out slow clients).

import { Readable } from 'node:stream';
import { HttpError } from '../src/errors.js';
import type { AbortHook, Request } from '../src/request.js';
import { responseParser, DEFAULT_LIMITS, type HttpParser, type ParserHandler, type ParserLimits, type ResponseHead } from './http-parser.js';
import type { Socket } from 'node:net';
import { UpstreamWait, type ConnectionUser, type Lease, type Pool, type UpstreamConnection } from './http-client-pool.js';
import { resetError } from './http-client-connect.js';
import type { ReadBuffer } from './http-client-reads.js';
import { addTrailers, replyHead } from './http-client-fields.js';
import { lastChunk, writeChunk } from './http-writer.js';
import type { DirectBody, ReplyHeaders } from '../src/reply.js';
import type { Writable } from 'node:stream';
import { atPollEnd, awaited, type AtPollEnd } from './poll-end.js';
import { lastValue } from '../src/last-value.js';

export interface ExchangeTimeouts {
  readonly head: number;
  readonly body: number;
  /** How long the body waits for the upstream's 100 Continue before it is sent anyway. */
  readonly continue: number;
  /** How long the connection may stay idle in the pool afterwards. */
  readonly idle: number;
}

export interface UpstreamResponse {
  readonly head: ResponseHead;
  /** The content (a Buffer when small and complete: GATHERED_BODY), or null when the response has none. */
  readonly body: Readable | Buffer | null;
  /** For a chunked response: its trailer fields, filled when the body ends. */
  readonly trailers?: ReplyHeaders;
  /** After a 101: the socket, no longer the pool's, and the bytes that followed the 101's head. */
  readonly switched?: { readonly socket: Socket; readonly rest: Buffer };
}

/** Upstream heads are often larger than requests' (cookies, CSP): their own limits. */
export const RESPONSE_LIMITS: Readonly<ParserLimits> = Object.freeze({
  ...DEFAULT_LIMITS,
  maxHeaderSize: 64 * 1024,
  maxHeaders: 200,
  maxTrailerSize: 16 * 1024,
});

/** RFC 9110 §9.2.2. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE', 'PROPFIND', 'MKCOL', 'COPY', 'MOVE']);

const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

/** Response bodies of a known length up to this are gathered into one Buffer. */
export const GATHERED_BODY = 16 * 1024;

export class Exchange implements ConnectionUser, ParserHandler<ResponseHead>, AbortHook, AtPollEnd {
  readonly #conn: UpstreamConnection;
  readonly #pool: Pool;
  readonly #reused: boolean;
  readonly #request: Request;
  readonly #timeouts: ExchangeTimeouts;
  readonly #parser: HttpParser<ResponseHead> = responseParser(this, RESPONSE_LIMITS);
  /** The client's body, once opened; `#chunked` when its length is unknown. */
  requestBody: Readable | null = null;
  #chunked = false;
  #requestDone = true;
  #bodyPaused = false;
  /** The body waits for the upstream's 100 Continue. */
  #awaitingContinue = false;
  /** Request body bytes taken from the client. */
  #consumed = 0;
  /** Response bytes received. */
  #received = 0;
  #head: ResponseHead | null = null;
  #interim = false;
  /** The request asked to switch protocols (Upgrade): a 101 is an answer. */
  #upgrade = false;
  #switched = false;
  #responseDone = false;
  #body: Readable | null = null;
  /** Where the body writes itself (DirectBody), once the server asked. */
  #sink: { readonly socket: Writable; readonly progress: () => void; readonly done: (err: Error | null) => void } | null = null;
  /** A small body being gathered (GATHERED_BODY), and how much of it came. */
  #gathered: Buffer | null = null;
  #gatheredLength = 0;
  #trailers: ReplyHeaders | null = null;
  /** The body's reader is slow: the socket is paused until it reads again. */
  #waiting = false;
  /** The last push() went over the body's high-water mark. */
  #readerFull = false;
  /** Unparsed bytes kept while waiting, and the read buffer they are in (retained), if reused. */
  #pending: Buffer | null = null;
  #pendingOffset = 0;
  #pendingOwner: ReadBuffer | null = null;
  /** The reused read buffer being parsed now, if any. */
  #owner: ReadBuffer | null = null;
  /** The body writes itself from now on (#writeTo): the stream no longer asks for more. */
  #direct = false;
  #eof = false;
  #parsing = false;
  #ended = false;
  /** Set when the exchange failed in a way a fresh connection may not. */
  retryable = false;
  #resolve: (response: UpstreamResponse) => void = () => {};
  #reject: (err: unknown) => void = () => {};
  #resolved = false;
  /** Listening for the request's abort. */
  #hooked = false;
  /** The head held back to the end of the poll phase (poll-end.ts), if any. */
  #heldHead: string | null = null;

  constructor(lease: Lease, pool: Pool, request: Request, timeouts: ExchangeTimeouts) {
    this.#conn = lease.conn;
    this.#reused = lease.reused;
    this.#pool = pool;
    this.#request = request;
    this.#timeouts = timeouts;
  }

  /**
   * Sends `head` (and the request body, if any; after a 100 Continue when
   * `expectContinue`) and resolves with the final response head.
   */
  start(head: string, framing: 'none' | 'length' | 'chunked', upgrade = false, expectContinue = false): Promise<UpstreamResponse> {
    this.#upgrade = upgrade;
    const promise = new Promise<UpstreamResponse>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    const request = this.#request;
    const socket = this.#conn.socket;
    this.#conn.lease(this);
    this.#parser.setRequestMethod(request.method);
    if (request.aborted || socket.destroyed) {
      queueMicrotask(() => this.#fail(request.aborted ? new HttpError('WWW_ERR_REQ_ABORTED') : resetError(null, 'closed while idle')));
      return promise;
    }
    this.#hooked = request.addAbortHook(this);
    // A head without a body waits for the end of the poll phase while other
    // replies are awaited: the upstream, woken once, finds the heads of that
    // turn ready together (poll-end.ts). Alone, it goes at once; a body
    // follows its head at once.
    if (framing === 'none' && awaited.count > 0) {
      this.#heldHead = head;
      atPollEnd(this);
    } else {
      socket.write(head, 'latin1');
    }
    if (framing !== 'none') {
      this.#chunked = framing === 'chunked';
      this.#requestDone = false;
      if (expectContinue) this.#awaitingContinue = true;
      else this.#sendBody(request.body());
    }
    this.#updateTimer();
    return promise;
  }

  /**
   * Writes the head held back, unless the exchange ended meanwhile (an
   * abort: its socket is gone). What goes wrong is this exchange's failure,
   * never the other heads' or the process's.
   */
  atPollEnd(): void {
    const head = this.#heldHead!;
    this.#heldHead = null;
    if (this.#ended) return;
    const socket = this.#conn.socket;
    if (socket.destroyed) return; // its 'close' fails the exchange
    try {
      socket.write(head, 'latin1');
    } catch (err) {
      this.#fail(new HttpError('WWW_ERR_INTERNAL', undefined, { cause: err }));
    }
  }

  // --- the request body ------------------------------------------------------

  #sendBody(body: Readable | null): void {
    if (body === null || body.destroyed) {
      // Gone between two attempts (the server timed it out, the client left).
      const err = body?.errored;
      return void queueMicrotask(() => this.#fail(err instanceof HttpError ? err : new HttpError('WWW_ERR_REQ_ABORTED', 'request body gone')));
    }
    this.requestBody = body;
    // Between attempts nobody listens: an error then must not reach the process.
    if (!body.listeners('error').includes(ignore)) body.on('error', ignore);
    body.on('data', this.#onBodyData);
    body.once('end', this.#onBodyEnd);
    body.once('error', this.#onBodyError);
    // A body paused by a failed attempt does not flow again by itself; an
    // empty one may have ended already.
    if (body.readableEnded) this.#onBodyEnd();
    else body.resume();
  }

  /** The upstream said 100, or stayed silent about it long enough: the body goes. */
  #proceed(): void {
    if (!this.#awaitingContinue || this.#ended) return;
    this.#awaitingContinue = false;
    this.#sendBody(this.#request.body());
    this.#updateTimer();
  }

  #detachBody(): void {
    const body = this.requestBody;
    if (body === null) return;
    body.pause();
    body.off('data', this.#onBodyData);
    body.off('end', this.#onBodyEnd);
    body.off('error', this.#onBodyError);
  }

  #onBodyData = (chunk: Buffer): void => {
    if (this.#ended) return;
    this.#consumed += chunk.length;
    this.#progress();
    const socket = this.#conn.socket;
    let ok: boolean;
    if (this.#chunked) {
      ok = writeChunk(socket, chunk);
    } else {
      ok = socket.write(chunk);
    }
    if (!ok) {
      this.#bodyPaused = true;
      this.requestBody!.pause();
    }
  };

  #onBodyEnd = (): void => {
    if (this.#ended) return;
    if (this.#chunked) {
      // The client's trailer fields go on with its body (RFC 9112 §7.1.2), as the response's come back.
      const raw = this.#request.rawTrailers;
      if (raw === null) this.#conn.socket.write(LAST_CHUNK);
      else {
        const trailers: ReplyHeaders = {};
        addTrailers(raw, trailers);
        this.#conn.socket.write(lastChunk(trailers), 'latin1');
      }
    }
    this.#requestDone = true;
    this.#detachBody();
    this.#updateTimer();
  };

  #onBodyError = (err: unknown): void => {
    // The server's own verdict on the client's body (413, 408, 499) is the answer.
    this.#fail(err instanceof HttpError ? err : new HttpError('WWW_ERR_REQ_ABORTED', (err as Error | null)?.message));
  };

  // --- the connection --------------------------------------------------------

  onData(chunk: Buffer, owner: ReadBuffer | null): void {
    if (this.#ended) return;
    this.#received += chunk.length;
    this.#progress();
    if (this.#waiting) {
      // Paused, but a read was already under way (a TLS socket's): kept as one copy.
      const pending = this.#pending;
      this.#keep(pending === null ? Buffer.from(chunk) : Buffer.concat([pending.subarray(this.#pendingOffset), chunk]), 0, null);
      return;
    }
    this.#parse(chunk, 0, owner);
  }

  /** Keeps `buf` from `offset` for later, retaining its read buffer (if reused) instead of copying. */
  #keep(buf: Buffer, offset: number, owner: ReadBuffer | null): void {
    this.#pendingOwner?.release();
    this.#pending = buf;
    this.#pendingOffset = offset;
    this.#pendingOwner = owner === null ? null : owner.retain();
  }

  #dropPending(): void {
    this.#pendingOwner?.release();
    this.#pendingOwner = null;
    this.#pending = null;
  }

  onEnd(): void {
    if (this.#ended) return;
    this.#eof = true;
    if (this.#pending === null) this.#atEof();
  }

  onError(err: Error): void {
    this.#fail(resetError(err));
  }

  onClose(): void {
    // After a clean end, the bytes still unparsed decide (#atEof), however long a slow reader takes.
    if (!this.#eof) this.#closed();
  }

  #closed(): void {
    this.#fail(resetError(null, this.#head === null ? 'closed before the response' : 'closed in the body'));
  }

  onDrain(): void {
    this.#progress();
    if (this.#bodyPaused && !this.#ended) {
      this.#bodyPaused = false;
      this.requestBody!.resume();
    }
  }

  /** `owner`: the reused read buffer `buf` is in (null: buf is ours to keep). */
  #parse(buf: Buffer, offset: number, owner: ReadBuffer | null): void {
    this.#parsing = true;
    this.#owner = owner;
    const n = this.#parser.execute(buf, offset);
    this.#owner = null;
    this.#parsing = false;
    if (this.#ended) return;
    const parser = this.#parser;
    if (parser.error !== null) {
      return this.#fail(new HttpError('WWW_ERR_PROXY_RESPONSE', `${parser.error}${parser.errorDetail ? `: ${parser.errorDetail}` : ''}`));
    }
    if (this.#switched) return this.#switch(Buffer.from(buf.subarray(n)));
    if (this.#responseDone) return this.#finish(n === buf.length && this.#pending === null);
    if (n < buf.length) this.#keep(buf, n, owner);
    // The parser stops at a full reader, but a read that was all body is consumed whole: pause either way.
    if (n < buf.length || this.#readerFull) {
      this.#waiting = true;
      this.#conn.socket.pause();
      this.#updateTimer();
    }
  }

  /** The body's reader wants more. */
  #resume(): void {
    this.#readerFull = false;
    if (!this.#waiting || this.#parsing || this.#ended) return;
    this.#waiting = false;
    const pending = this.#pending;
    if (pending !== null) {
      const owner = this.#pendingOwner;
      this.#pending = null;
      this.#pendingOwner = null;
      // Parsing may keep a part of it again (retained anew) before this hold goes.
      this.#parse(pending, this.#pendingOffset, owner);
      owner?.release();
      if (this.#ended || this.#waiting) return;
    }
    this.#conn.socket.resume();
    this.#progress();
    this.#updateTimer();
    if (this.#eof) this.#atEof();
  }

  /** The upstream closed its side: the end of a body that runs to the close, else a truncation. */
  #atEof(): void {
    if (this.#parser.finish() && this.#responseDone) return this.#finish(false);
    this.#closed();
  }

  // --- the response ----------------------------------------------------------

  onHead(head: ResponseHead): boolean {
    if (this.#ended) return false;
    if (head.status < 200) {
      if (head.status === 101) {
        // Without an Upgrade sent, a switch is a broken upstream (RFC 9110 §15.2.2).
        if (!this.#upgrade) this.#fail(new HttpError('WWW_ERR_PROXY_RESPONSE', '101 without Upgrade'));
        else {
          this.#head = head;
          this.#switched = true;
        }
        return false;
      }
      this.#interim = true;
      // Relayed first: the client that waits for a 100 then gets this one, not the server's own.
      this.#request.interim(head.status, replyHead(head, this.#request.method, null).headers);
      if (head.status === 100) this.#proceed();
      return !this.#ended;
    }
    // A final answer to a request whose body waited for 100: the body is never sent (#finish).
    this.#awaitingContinue = false;
    this.#head = head;
    if (head.bodyLength > 0 && head.bodyLength <= GATHERED_BODY) {
      // Answered at its end (onComplete); the body timeout runs meanwhile.
      this.#gathered = Buffer.allocUnsafe(head.bodyLength);
      this.#gatheredLength = 0;
      this.#updateTimer();
      return true;
    }
    if (head.bodyLength !== 0) {
      const body = new Readable({
        highWaterMark: 64 * 1024,
        read: () => {
          if (!this.#direct) this.#resume();
        },
        destroy: (err, callback) => {
          // The reader gave up (client gone, conversion failed): the rest is not wanted.
          if (!this.#ended) this.#fail(err instanceof HttpError ? err : new HttpError('WWW_ERR_REQ_ABORTED'), true);
          callback(err);
        },
      }) as Readable & DirectBody;
      if (head.bodyLength > 0) {
        body.writeTo = (socket, progress, done) => this.#writeTo(socket, progress, done);
        // Nothing more is parsed until the server either writes the body itself
        // or reads the stream: the bytes of this read wait in their buffer, not copied.
        this.#readerFull = true;
      }
      // An error is for the body's reader to see (#failBody), never the process's.
      body.on('error', ignore);
      this.#body = body;
    }
    this.#resolved = true;
    if (head.bodyLength < 0) this.#trailers = {};
    this.#resolve({ head, body: this.#body, trailers: this.#trailers ?? undefined });
    this.#updateTimer();
    return !this.#readerFull;
  }

  onBody(chunk: Buffer): boolean {
    if (this.#ended) return false;
    if (this.#gathered !== null) {
      // The parser stops at Content-Length: the chunks fit.
      this.#gatheredLength += chunk.copy(this.#gathered, this.#gatheredLength);
      return true;
    }
    const sink = this.#sink;
    if (sink !== null) {
      // A reused read buffer stays held until the kernel has the bytes.
      const owner = this.#owner;
      const ok = sink.socket.write(chunk, owner === null ? undefined : owner.retain().release);
      sink.progress();
      if (ok) return true;
    } else if (this.#body!.push(Buffer.from(chunk))) return true;
    this.#readerFull = true;
    return false;
  }

  onComplete(): boolean {
    if (this.#switched) return false;
    if (this.#interim) {
      this.#interim = false;
      return true;
    }
    this.#responseDone = true;
    const gathered = this.#gathered;
    if (gathered !== null) {
      this.#resolved = true;
      this.#resolve({ head: this.#head!, body: gathered });
      return false;
    }
    const trailers = this.#parser.trailers;
    if (trailers !== null && this.#trailers !== null) addTrailers(trailers, this.#trailers);
    // A body that writes itself is done in #finish, once the connection is back in the pool.
    if (this.#sink === null) this.#body?.push(null);
    // Nothing may follow a response we did not ask for: stop here.
    return false;
  }

  /**
   * The server sends the body as it is (DirectBody): what the stream holds
   * goes first, then every chunk as it is parsed, straight to `socket`.
   */
  #writeTo(socket: Writable, progress: () => void, done: (err: Error | null) => void): void {
    const body = this.#body!;
    // What the stream holds goes first; it asks for no more (#direct), so nothing is copied into it meanwhile.
    this.#direct = true;
    for (let chunk: Buffer | null = body.read(); chunk !== null; chunk = body.read()) {
      socket.write(chunk);
      progress();
    }
    if (this.#ended && !this.#responseDone) return done(body.errored ?? new Error('upstream body failed'));
    this.#sink = { socket, progress, done };
    socket.on('drain', this.#onSinkDrain);
    if (this.#responseDone) {
      if (this.#ended) this.#sinkDone(null);
      return;
    }
    this.#readerFull = socket.writableNeedDrain;
    if (!this.#readerFull) this.#resume();
  }

  #onSinkDrain = (): void => {
    this.#resume();
  };

  /** The body that wrote itself is over (err null: complete). */
  #sinkDone(err: Error | null): void {
    const sink = this.#sink;
    if (sink === null) return;
    this.#sink = null;
    sink.socket.off('drain', this.#onSinkDrain);
    sink.done(err);
  }

  /**
   * The upstream switched protocols: the socket leaves the pool with the
   * bytes read after the 101's head, and the exchange is over.
   */
  #switch(rest: Buffer): void {
    this.#ended = true;
    this.#dropPending();
    this.#conn.timer.idle();
    this.#unlisten();
    const socket = this.#pool.detach(this.#conn);
    this.#resolved = true;
    this.#resolve({ head: this.#head!, body: null, switched: { socket, rest } });
  }

  /** The response is complete. `clean`: no byte came after it. */
  #finish(clean: boolean): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#dropPending();
    this.#conn.timer.idle();
    this.#unlisten();
    const head = this.#head!;
    if (clean && this.#requestDone && head.keepAlive && !this.#eof) {
      // Paused while the body's reader was full, the socket may hold no more
      // of this response (it was all read): an idle connection reads again,
      // or the next exchange on it would never see its answer.
      this.#conn.socket.resume();
      this.#pool.release(this.#conn, keepFor(head, this.#timeouts.idle));
    } else {
      this.#pool.discard(this.#conn);
      if (!this.#requestDone) {
        // Answered before the whole body was sent (RFC 9112 §9.6): the rest is not wanted.
        this.#detachBody();
        this.requestBody?.destroy();
      }
    }
    this.#sinkDone(null);
  }

  /**
   * Ends the exchange with `err`: before the head, the promise rejects;
   * after it, the body stream errors. The connection is destroyed.
   */
  #fail(err: HttpError, fromBody = false): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#dropPending();
    this.#conn.timer.idle();
    this.#unlisten();
    this.#detachBody();
    this.#pool.discard(this.#conn);
    if (!this.#resolved) {
      // A reused connection that died before answering anything may have
      // been closed by the upstream while idle: a fresh one may do.
      this.retryable = this.#reused && this.#received === 0 && this.#consumed === 0 && err.code === 'WWW_ERR_PROXY_RESET' &&
        (IDEMPOTENT.has(this.#request.method) || this.#request.hasBody);
      this.#reject(err);
    } else if (this.#sink !== null) {
      if (err.code !== 'WWW_ERR_REQ_ABORTED') this.#request.fail(err);
      // The writer destroys the client's socket: the body must not look complete.
      this.#sinkDone(err);
    } else if (!fromBody && this.#body !== null) {
      this.#failBody(this.#body, err);
    }
  }

  /**
   * Errors the body stream. A reply waiting for its turn in the client's
   * pipeline has no reader yet: the writer finds the body destroyed when
   * its turn comes, and fails it then with this error (http-response.ts).
   */
  #failBody(body: Readable, err: HttpError): void {
    if (err.code !== 'WWW_ERR_REQ_ABORTED') this.#request.fail(err);
    body.destroy(err);
  }

  /** The client went away (or the server stops). */
  onAbort(): void {
    this.#hooked = false;
    this.#fail(new HttpError('WWW_ERR_REQ_ABORTED'));
  }

  #unlisten(): void {
    if (this.#hooked) this.#request.removeAbortHook(this);
    this.#hooked = false;
  }

  // --- the timer (the connection's: http-client-pool.ts) --------------------

  /** The wait that applies now. */
  #phase(): UpstreamWait {
    if (this.#ended || this.#responseDone) return UpstreamWait.None;
    if (this.#awaitingContinue) return UpstreamWait.Continue;
    if (this.#head === null) return this.#requestDone ? UpstreamWait.Head : UpstreamWait.Body;
    // A slow reader holds the body back: nothing is late but the reader.
    return this.#waiting && this.#requestDone ? UpstreamWait.None : UpstreamWait.Body;
  }

  #limit(kind: UpstreamWait): number {
    const t = this.#timeouts;
    return kind === UpstreamWait.Continue ? t.continue : kind === UpstreamWait.Head ? t.head : t.body;
  }

  /** Sets the connection's timer to the phase the exchange is in, if it changed. */
  #updateTimer(): void {
    const kind = this.#phase();
    const timer = this.#conn.timer;
    if (kind === timer.kind) return;
    if (kind === UpstreamWait.None) timer.idle();
    else timer.set(kind, this.#limit(kind));
  }

  /** Bytes moved: the wait in force starts again. */
  #progress(): void {
    const timer = this.#conn.timer;
    const kind = timer.kind;
    if (kind !== UpstreamWait.None) timer.extend(kind, this.#limit(kind));
  }

  onTimeout(kind: UpstreamWait): void {
    if (this.#ended) return;
    if (kind === UpstreamWait.Continue) return this.#proceed();
    const code = kind === UpstreamWait.Head ? 'WWW_ERR_PROXY_HEAD_TIMEOUT' : 'WWW_ERR_PROXY_BODY_TIMEOUT';
    this.#fail(new HttpError(code, `${this.#limit(kind)} ms`));
  }
}

function ignore(): void {}

/** How long a Keep-Alive hint lets a connection idle, a second early (Infinity: it says nothing). The last hint read is kept. */
const hintTimeout = lastValue((hint: string): number => {
  const m = /(?:^|[,;\s])timeout\s*=\s*(\d+)/i.exec(hint);
  return m === null ? Infinity : Number(m[1]) * 1000 - 1000;
});

/** The idle time for the pool: ours, shortened by the upstream's Keep-Alive hint. */
function keepFor(head: ResponseHead, idle: number): number {
  const hint = head.headers['keep-alive'];
  return hint === undefined ? idle : Math.min(idle, hintTimeout(hint));
}
