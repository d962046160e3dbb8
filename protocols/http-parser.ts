// The HTTP/1.1 message parser (libwww HTMIME in header-only mode, the wire's
// half of it), in two modes as llhttp has: requests for the server side,
// responses for the HTTP client. Both share the field lines, the framing
// checks, the chunked decoder and the limits; only the start line and the
// rule that decides whether a body follows differ (RFC 9112 §6.3). Pure: no
// I/O, no timers. `execute(bytes)` drives callbacks and returns how many
// bytes it consumed; a callback that returns false pauses it, and the caller
// feeds the rest again later. Strict RFC 9112: whatever could let two
// parties disagree on where a message ends is an error, and after an error
// the parser is dead (the connection must close).

import type { ErrorCode } from '../src/errors.js';
import { hasToken } from '../src/negotiate.js';
import { lastValue } from '../src/last-value.js';

export interface ParserLimits {
  /** Request line, bytes without CRLF (→ 414). */
  maxRequestLine: number;
  /** Field lines of the header block, bytes with CRLFs (→ 431). */
  maxHeaderSize: number;
  /** Number of field lines (→ 431). */
  maxHeaders: number;
  /** One chunk-size line with its extensions (→ 400), and all of a message's (×16). */
  maxChunkExtension: number;
  /** Trailer section, bytes (→ 431). */
  maxTrailerSize: number;
}

export const DEFAULT_LIMITS: Readonly<ParserLimits> = Object.freeze({
  maxRequestLine: 8192,
  maxHeaderSize: 16384,
  maxHeaders: 100,
  maxChunkExtension: 1024,
  maxTrailerSize: 8192,
});

export interface RequestHead {
  method: string;
  target: string;
  versionMinor: number;
  /** Lower-case names; repeated fields joined with ", " (RFC 9110 §5.3). */
  headers: Record<string, string>;
  /** Name, value, name, value… as received. */
  rawHeaders: string[];
  /** 0 none, >0 Content-Length, -1 chunked. */
  bodyLength: number;
  keepAlive: boolean;
  /** The Expect field, lower-cased, or null. */
  expect: string | null;
}

/** A body delimited by the end of the connection (RFC 9112 §6.3, rule 8): responses only. */
export const BODY_UNTIL_CLOSE = -2;

export interface ResponseHead {
  /** 100–599; 1xx heads are interim and followed by another head. */
  status: number;
  /** The reason phrase as received; may be empty. */
  reason: string;
  versionMinor: number;
  /** Lower-case names; repeated fields joined with ", " (RFC 9110 §5.3). */
  headers: Record<string, string>;
  /** Name, value, name, value… as received. */
  rawHeaders: string[];
  /** 0 none, >0 Content-Length, -1 chunked, BODY_UNTIL_CLOSE read until the connection closes. */
  bodyLength: number;
  /** The connection may carry another exchange once this message is complete. */
  keepAlive: boolean;
}

export type ParserMode = 'request' | 'response';

export interface ParserHandler<Head = RequestHead> {
  /** A complete head. Return false to pause right after it. */
  onHead(head: Head): boolean;
  /** Body bytes (a view into the input). Return false to pause. */
  onBody(chunk: Buffer): boolean;
  /** The end of a message. Return false to pause. */
  onComplete(): boolean;
}

/** A Content-Length value (its length, at most 15 digits, is checked apart). */
const DIGITS_RE = /^[0-9]+$/;

const enum State {
  /** A request line or a status line. */
  StartLine,
  FieldLine,
  BodyLength,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailer,
  BodyUntilClose,
  Dead,
}

const CR = 0x0d;
const LF = 0x0a;
const MAX_EMPTY_LINES = 8;

// Character classes as lookup tables (busboy's habit).
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;
/** field-vchar, SP, HTAB, obs-text (RFC 9110 §5.5): no CTL, no DEL. */
const VCHAR = new Uint8Array(256);
VCHAR[0x09] = 1;
for (let c = 0x20; c <= 0x7e; c++) VCHAR[c] = 1;
for (let c = 0x80; c <= 0xff; c++) VCHAR[c] = 1;
/** request-target: visible ASCII only (RFC 9112 §3.2, RFC 3986). */
const TARGET = new Uint8Array(256);
for (let c = 0x21; c <= 0x7e; c++) TARGET[c] = 1;
const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) HEX[0x41 + c] = HEX[0x61 + c] = 10 + c;

/** Methods the server knows (RFC 9110 §9, RFC 5789, RFC 4918); others get 501. */
export const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH',
  'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK',
]);

const HOST_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;
/** Host = uri-host [ ":" port ] (RFC 9110 §7.2). The last answer is kept: a client sends the same each time. */
const validHost = lastValue((host: string): boolean => HOST_RE.test(host));
const ABSOLUTE_RE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;
const AUTHORITY_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+):[0-9]+$/;

/**
 * One class for both modes, so that the server's parsers all share one
 * hidden class and the request path pays two boolean tests for the other
 * mode. `RequestParser` is this class in its default mode.
 */
export class HttpParser<Head extends RequestHead | ResponseHead = RequestHead> {
  #handler: ParserHandler<Head>;
  #limits: ParserLimits;
  readonly #response: boolean;
  /** Response mode: the method of the request being answered (HEAD's responses have no body). */
  #method = '';
  #state = State.StartLine;
  /** Bytes of an incomplete line carried over from the previous input. */
  #partial: Buffer[] | null = null;
  #partialLength = 0;
  #emptyLines = 0;
  #head: RequestHead | ResponseHead | null = null;
  #headerBytes = 0;
  #headerCount = 0;
  #hostCount = 0;
  #contentLength: string | null = null;
  #transferEncoding: string | null = null;
  #remaining = 0;
  #extBytes = 0;
  #crlfSeen = 0;
  #paused = false;
  /** Set once the parser is dead. */
  error: ErrorCode | null = null;
  errorDetail: string | undefined;
  /** The trailer fields of the chunked message just completed (name, value…), or null: read them in onComplete. */
  trailers: string[] | null = null;

  constructor(handler: ParserHandler<Head>, limits: ParserLimits = DEFAULT_LIMITS, mode: ParserMode = 'request') {
    this.#handler = handler;
    this.#limits = limits;
    this.#response = mode === 'response';
  }

  /**
   * Response mode: the method of the request whose response comes next. It
   * decides the framing (RFC 9112 §6.3: a response to HEAD has no body), so
   * it must be set before the response's head is fed.
   */
  setRequestMethod(method: string): void {
    this.#method = method;
  }

  /**
   * The input has ended (the peer closed). Returns true when it ended where
   * a message may end: between messages, or at the end of a body delimited
   * by the close (which completes here). Otherwise the message is truncated:
   * the parser dies with an error and returns false.
   */
  finish(): boolean {
    switch (this.#state) {
      case State.Dead:
        return false;
      case State.BodyUntilClose:
        this.#state = State.StartLine;
        this.#complete();
        return true;
      case State.StartLine:
        if (this.#partial === null && this.#emptyLines === 0) return true;
        this.#fail('WWW_ERR_PARSE_REQUEST_LINE', 'incomplete start line', 0);
        return false;
      case State.FieldLine:
        this.#fail('WWW_ERR_PARSE_HEADER', 'incomplete head', 0);
        return false;
      case State.BodyLength:
        this.#fail('WWW_ERR_PARSE_CONTENT_LENGTH', 'body shorter than Content-Length', 0);
        return false;
      default:
        this.#fail('WWW_ERR_PARSE_CHUNK', 'incomplete chunked body', 0);
        return false;
    }
  }

  /** True between messages with nothing buffered: a clean place to close. */
  get idle(): boolean {
    return this.#state === State.StartLine && this.#partial === null && this.#emptyLines === 0;
  }

  /** True while a head has started but is not complete. */
  get inHead(): boolean {
    return (this.#state === State.StartLine && (this.#partial !== null || this.#emptyLines > 0)) || this.#state === State.FieldLine;
  }

  get inBody(): boolean {
    return this.#state >= State.BodyLength && this.#state <= State.BodyUntilClose;
  }

  /**
   * Parses `data` from `offset`. Returns the index one past the last byte
   * consumed: data.length unless a callback paused the parser or an error
   * killed it.
   */
  execute(data: Buffer, offset = 0): number {
    this.#paused = false;
    let i = offset;
    const end = data.length;
    while (i < end && !this.#paused) {
      switch (this.#state) {
        case State.StartLine:
        case State.FieldLine:
        case State.ChunkSize:
        case State.Trailer:
          i = this.#readLine(data, i);
          break;
        case State.BodyLength: {
          const n = Math.min(this.#remaining, end - i);
          this.#remaining -= n;
          const chunk = data.subarray(i, i + n);
          i += n;
          if (this.#remaining === 0) this.#state = State.StartLine;
          if (!this.#handler.onBody(chunk)) this.#paused = true;
          if (this.#state === State.StartLine) this.#complete();
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.#remaining, end - i);
          this.#remaining -= n;
          const chunk = data.subarray(i, i + n);
          i += n;
          if (this.#remaining === 0) {
            this.#state = State.ChunkDataEnd;
            this.#crlfSeen = 0;
          }
          if (!this.#handler.onBody(chunk)) this.#paused = true;
          break;
        }
        case State.BodyUntilClose: {
          const chunk = data.subarray(i, end);
          i = end;
          if (!this.#handler.onBody(chunk)) this.#paused = true;
          break;
        }
        case State.ChunkDataEnd: {
          // RFC 9112 §7.1: chunk-data is followed by exactly CRLF.
          const expected = this.#crlfSeen === 0 ? CR : LF;
          if (data[i] !== expected) return this.#fail('WWW_ERR_PARSE_CHUNK', 'chunk data not followed by CRLF', i);
          i++;
          if (++this.#crlfSeen === 2) this.#state = State.ChunkSize;
          break;
        }
        case State.Dead:
          return i;
      }
    }
    return i;
  }

  /** Reads one line (or the start of one) and acts on it. */
  #readLine(data: Buffer, start: number): number {
    const lf = data.indexOf(LF, start);
    if (lf === -1) {
      // Pieces are kept, not concatenated, so a line sent a byte at a time costs linear time.
      const piece = Buffer.from(data.subarray(start));
      if (this.#partial === null) {
        this.#partial = [piece];
        this.#partialLength = piece.length;
      } else {
        this.#partial.push(piece);
        this.#partialLength += piece.length;
      }
      this.#checkLength(this.#partialLength, this.#partial[0]![0] === CR);
      return this.#state === State.Dead ? start : data.length;
    }
    let line: Buffer;
    let lineStart: number;
    if (this.#partial !== null) {
      this.#partial.push(data.subarray(start, lf + 1));
      line = Buffer.concat(this.#partial);
      lineStart = 0;
      this.#partial = null;
    } else {
      line = data;
      lineStart = start;
    }
    const lineEnd = line === data ? lf : line.length - 1;
    // The same limit as for a partial line, first, so that the outcome does not depend on where the input was split.
    this.#checkLength(lineEnd - lineStart, line[lineStart] === CR);
    if (this.error !== null) return lf;
    // RFC 9112 §2.2: a bare LF would let two parsers disagree; refuse it.
    if (lineEnd === lineStart || line[lineEnd - 1] !== CR) {
      this.#fail(this.#state === State.ChunkSize || this.#state === State.Trailer ? 'WWW_ERR_PARSE_CHUNK' : 'WWW_ERR_PARSE_HEADER', 'bare LF', lf);
      return lf;
    }
    this.#onLine(line, lineStart, lineEnd - 1);
    return this.#state === State.Dead ? lf : lf + 1;
  }

  /**
   * A line of `n` bytes before its LF (or the start of one) must not pass the
   * limit of what it will be. A lone CR may be the empty line that ends a
   * field section, which counts for nothing.
   */
  #checkLength(n: number, startsWithCR: boolean): void {
    const maybeEmpty = n === 1 && startsWithCR;
    switch (this.#state) {
      case State.StartLine:
        if (n > this.#limits.maxRequestLine + 1) this.#startLineTooLong();
        break;
      case State.FieldLine:
        if (!maybeEmpty && this.#headerBytes + n > this.#limits.maxHeaderSize) this.#fail('WWW_ERR_PARSE_HEADER_TOO_LARGE', undefined, 0);
        break;
      case State.ChunkSize:
        if (n > this.#limits.maxChunkExtension + 18) this.#fail('WWW_ERR_PARSE_CHUNK_EXT_TOO_LARGE', undefined, 0);
        break;
      case State.Trailer:
        if (!maybeEmpty && this.#headerBytes + n > this.#limits.maxTrailerSize) this.#fail('WWW_ERR_PARSE_TRAILER_TOO_LARGE', undefined, 0);
        break;
    }
  }

  /** `line[start, end)` is one line without its CRLF. */
  #onLine(line: Buffer, start: number, end: number): void {
    switch (this.#state) {
      case State.StartLine:
        if (this.#response) return this.#statusLine(line, start, end);
        if (start === end) {
          // RFC 9112 §2.2: empty lines before a request-line are tolerated (bounded).
          if (++this.#emptyLines > MAX_EMPTY_LINES) this.#fail('WWW_ERR_PARSE_REQUEST_LINE', 'too many empty lines', 0);
          return;
        }
        this.#emptyLines = 0;
        this.#requestLine(line, start, end);
        return;
      case State.FieldLine:
        if (start === end) return this.#endOfHead();
        this.#headerBytes += end - start + 2;
        if (this.#headerBytes > this.#limits.maxHeaderSize || ++this.#headerCount > this.#limits.maxHeaders) {
          this.#fail('WWW_ERR_PARSE_HEADER_TOO_LARGE', undefined, 0);
          return;
        }
        this.#fieldLine(line, start, end, false);
        return;
      case State.ChunkSize:
        this.#chunkSize(line, start, end);
        return;
      case State.Trailer:
        if (start === end) {
          this.#state = State.StartLine;
          this.#complete();
          return;
        }
        this.#headerBytes += end - start + 2;
        if (this.#headerBytes > this.#limits.maxTrailerSize) {
          this.#fail('WWW_ERR_PARSE_TRAILER_TOO_LARGE', undefined, 0);
          return;
        }
        this.#fieldLine(line, start, end, true);
        return;
    }
  }

  #startLineTooLong(): void {
    if (this.#response) this.#fail('WWW_ERR_PARSE_HEADER_TOO_LARGE', 'status line too long', 0);
    else this.#fail('WWW_ERR_PARSE_URI_TOO_LONG', undefined, 0);
  }

  #requestLine(line: Buffer, start: number, end: number): void {
    if (end - start > this.#limits.maxRequestLine) return void this.#fail('WWW_ERR_PARSE_URI_TOO_LONG', undefined, 0);
    // method SP request-target SP HTTP-version (RFC 9112 §3), single spaces.
    let i = start;
    while (i < end && TCHAR[line[i]!] === 1) i++;
    if (i === start || i === end || line[i] !== 0x20) return void this.#fail('WWW_ERR_PARSE_REQUEST_LINE', 'bad method', 0);
    const methodEnd = i++;
    const targetStart = i;
    while (i < end && TARGET[line[i]!] === 1) i++;
    if (i === targetStart || i === end || line[i] !== 0x20) return void this.#fail('WWW_ERR_PARSE_REQUEST_LINE', 'bad request-target', 0);
    const targetEnd = i++;
    // HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3)
    if (end - i !== 8 || line[i] !== 0x48 || line[i + 1] !== 0x54 || line[i + 2] !== 0x54 || line[i + 3] !== 0x50 ||
        line[i + 4] !== 0x2f || line[i + 6] !== 0x2e) {
      return void this.#fail('WWW_ERR_PARSE_VERSION', undefined, 0);
    }
    const major = line[i + 5]! - 0x30;
    const minor = line[i + 7]! - 0x30;
    if (major < 0 || major > 9 || minor < 0 || minor > 9) return void this.#fail('WWW_ERR_PARSE_VERSION', undefined, 0);
    if (major !== 1) return void this.#fail('WWW_ERR_PARSE_VERSION_UNSUPPORTED', `HTTP/${major}.${minor}`, 0);
    const method = line.toString('latin1', start, methodEnd);
    const target = line.toString('latin1', targetStart, targetEnd);
    if (!KNOWN_METHODS.has(method)) return void this.#fail('WWW_ERR_PARSE_METHOD_UNKNOWN', method, 0);
    // The four forms of request-target (RFC 9112 §3.2).
    const c = target.charCodeAt(0);
    if (method === 'CONNECT') {
      if (!AUTHORITY_RE.test(target)) return void this.#fail('WWW_ERR_PARSE_TARGET', 'CONNECT needs authority-form', 0);
    } else if (c === 0x2a /* * */) {
      if (target !== '*' || method !== 'OPTIONS') return void this.#fail('WWW_ERR_PARSE_TARGET', 'asterisk-form is for OPTIONS only', 0);
    } else if (c !== 0x2f /* / */ && !ABSOLUTE_RE.test(target)) {
      return void this.#fail('WWW_ERR_PARSE_TARGET', undefined, 0);
    }
    this.#head = {
      method,
      target,
      // RFC 9110 §2.5: a higher minor version of 1.x is answered as 1.1.
      versionMinor: minor === 0 ? 0 : 1,
      headers: Object.create(null) as Record<string, string>,
      rawHeaders: [],
      bodyLength: 0,
      keepAlive: minor !== 0,
      expect: null,
    };
    this.#startFields();
  }

  /**
   * status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4).
   * The SP before an empty reason phrase is often left out; that costs no
   * framing certainty, so it is accepted. No empty line may come first: in a
   * response that means the previous body was longer than it said.
   */
  #statusLine(line: Buffer, start: number, end: number): void {
    if (end - start > this.#limits.maxRequestLine) return this.#startLineTooLong();
    const i = start;
    if (end - i < 12 || line[i] !== 0x48 || line[i + 1] !== 0x54 || line[i + 2] !== 0x54 || line[i + 3] !== 0x50 ||
        line[i + 4] !== 0x2f || line[i + 6] !== 0x2e || line[i + 8] !== 0x20 || (end > i + 12 && line[i + 12] !== 0x20)) {
      return void this.#fail('WWW_ERR_PARSE_VERSION', 'malformed status line', 0);
    }
    const major = line[i + 5]! - 0x30;
    const minor = line[i + 7]! - 0x30;
    if (major < 0 || major > 9 || minor < 0 || minor > 9) return void this.#fail('WWW_ERR_PARSE_VERSION', undefined, 0);
    if (major !== 1) return void this.#fail('WWW_ERR_PARSE_VERSION_UNSUPPORTED', `HTTP/${major}.${minor}`, 0);
    let status = 0;
    for (let k = i + 9; k < i + 12; k++) {
      const d = line[k]! - 0x30;
      if (d < 0 || d > 9) return void this.#fail('WWW_ERR_PARSE_VERSION', 'malformed status code', 0);
      status = status * 10 + d;
    }
    // RFC 9110 §15: values outside 100..599 are invalid.
    if (status < 100 || status > 599) return void this.#fail('WWW_ERR_PARSE_VERSION', `status ${status}`, 0);
    for (let k = i + 13; k < end; k++) {
      if (VCHAR[line[k]!] !== 1) return void this.#fail('WWW_ERR_PARSE_HEADER', 'control character in reason phrase', 0);
    }
    const head: ResponseHead = {
      status,
      reason: end > i + 13 ? line.toString('latin1', i + 13, end) : '',
      versionMinor: minor === 0 ? 0 : 1,
      headers: Object.create(null) as Record<string, string>,
      rawHeaders: [],
      bodyLength: 0,
      keepAlive: minor !== 0,
    };
    this.#head = head;
    this.#startFields();
  }

  #startFields(): void {
    this.#headerBytes = 0;
    this.#headerCount = 0;
    this.#hostCount = 0;
    this.#contentLength = null;
    this.#transferEncoding = null;
    this.#state = State.FieldLine;
  }

  #fieldLine(line: Buffer, start: number, end: number, trailer: boolean): void {
    const err = trailer ? 'WWW_ERR_PARSE_CHUNK' : 'WWW_ERR_PARSE_HEADER';
    // RFC 9112 §5.2: obs-fold is refused with 400; §5.1: no whitespace before ':'.
    let i = start;
    while (i < end && TCHAR[line[i]!] === 1) i++;
    if (i === start || i === end || line[i] !== 0x3a) {
      return void this.#fail(err, i === start && (line[i] === 0x20 || line[i] === 0x09) ? 'obs-fold' : 'bad field name', 0);
    }
    const nameEnd = i++;
    while (i < end && (line[i] === 0x20 || line[i] === 0x09)) i++;
    const valueStart = i;
    let valueEnd = valueStart;
    for (; i < end; i++) {
      const b = line[i]!;
      if (VCHAR[b] !== 1) return void this.#fail(err, b === CR ? 'bare CR' : 'control character in field value', 0);
      if (b !== 0x20 && b !== 0x09) valueEnd = i + 1;
    }
    if (trailer) {
      // Kept as they came, for whoever relays them; nothing here acts on them.
      (this.trailers ??= []).push(line.toString('latin1', start, nameEnd), line.toString('latin1', valueStart, valueEnd));
      return;
    }
    const head = this.#head!;
    const rawName = line.toString('latin1', start, nameEnd);
    const value = line.toString('latin1', valueStart, valueEnd);
    const name = commonName(line, start, nameEnd) ?? lowerName(rawName);
    head.rawHeaders.push(rawName, value);
    switch (name) {
      case 'host':
        this.#hostCount++;
        break;
      case 'content-length':
        this.#contentLength = this.#contentLength === null ? value : `${this.#contentLength},${value}`;
        break;
      case 'transfer-encoding':
        this.#transferEncoding = this.#transferEncoding === null ? value : `${this.#transferEncoding},${value}`;
        break;
    }
    const prev = head.headers[name];
    head.headers[name] = prev === undefined ? value : name === 'cookie' ? `${prev}; ${value}` : `${prev}, ${value}`;
  }

  #endOfHead(): void {
    const head = this.#head!;
    const h = head.headers;
    if (this.#response) {
      const status = (head as ResponseHead).status;
      // RFC 9112 §6.3 rules 1 and 8: no body after HEAD, 1xx, 204 and 304,
      // whatever the fields say; without CL or TE, the body runs to the close.
      if (status >= 200 && status !== 204 && status !== 304 && this.#method !== 'HEAD') {
        if (this.#transferEncoding === null && this.#contentLength === null) head.bodyLength = BODY_UNTIL_CLOSE;
        else if (!this.#framing(head)) return;
      }
    } else {
      // RFC 9112 §3.2: exactly one Host in HTTP/1.1; at most one, and valid, always.
      if ((head.versionMinor === 1 && this.#hostCount !== 1) || this.#hostCount > 1 ||
          (this.#hostCount === 1 && !validHost(h.host!))) {
        return void this.#fail('WWW_ERR_PARSE_HOST', undefined, 0);
      }
      if (!this.#framing(head)) return;
      const expect = h.expect;
      if (expect !== undefined) (head as RequestHead).expect = expect.trim().toLowerCase();
    }
    const connection = h.connection;
    if (connection !== undefined) {
      if (hasToken(connection, 'close')) head.keepAlive = false;
      else if (head.versionMinor === 0 && hasToken(connection, 'keep-alive')) head.keepAlive = true;
    }
    this.#head = null;
    const bodyLength = head.bodyLength;
    if (bodyLength === 0) this.#state = State.StartLine;
    else if (bodyLength > 0) {
      this.#state = State.BodyLength;
      this.#remaining = bodyLength;
    } else if (bodyLength === -1) {
      this.#state = State.ChunkSize;
      this.#extBytes = 0;
    } else {
      head.keepAlive = false;
      this.#state = State.BodyUntilClose;
    }
    if (!this.#handler.onHead(head as Head)) this.#paused = true;
    if (bodyLength === 0) this.#complete();
  }

  /** The body's length from Transfer-Encoding and Content-Length (RFC 9112 §6), or false after failing. */
  #framing(head: RequestHead | ResponseHead): boolean {
    if (this.#transferEncoding !== null) {
      // RFC 9112 §6.1: TE in HTTP/1.0 is faulty framing; §6.3: TE with CL is a smuggling vector.
      if (head.versionMinor === 0) return this.#refuse('WWW_ERR_PARSE_TE_NOT_CHUNKED', 'Transfer-Encoding in HTTP/1.0');
      if (this.#contentLength !== null) return this.#refuse('WWW_ERR_PARSE_TE_WITH_CL', undefined);
      const codings = this.#transferEncoding.split(',').map((s) => s.split(';')[0]!.trim().toLowerCase()).filter((s) => s !== '');
      const last = codings.length === 0 ? '' : codings[codings.length - 1];
      // A response whose final coding is not chunked would run to the close
      // (§6.3 rule 4), but its bytes would still be transfer-coded: refused too.
      if (last !== 'chunked') return this.#refuse('WWW_ERR_PARSE_TE_NOT_CHUNKED', undefined);
      for (let k = 0; k < codings.length - 1; k++) {
        if (codings[k] === 'chunked') return this.#refuse('WWW_ERR_PARSE_TE_NOT_CHUNKED', 'chunked applied twice');
        return this.#refuse('WWW_ERR_PARSE_TE_UNKNOWN', codings[k]);
      }
      head.bodyLength = -1;
    } else if (this.#contentLength !== null) {
      // RFC 9112 §6.3: a list of identical values is one value; anything else is an error.
      const cl = this.#contentLength;
      // One value of digits only, the usual case, needs no splitting.
      if (cl.length <= 15 && DIGITS_RE.test(cl)) {
        head.bodyLength = Number(cl);
        return true;
      }
      let length = -1;
      for (const part of cl.split(',')) {
        const v = part.trim();
        if (v.length > 15 || !DIGITS_RE.test(v)) return this.#refuse('WWW_ERR_PARSE_CONTENT_LENGTH', undefined);
        const n = Number(v);
        if (length !== -1 && n !== length) return this.#refuse('WWW_ERR_PARSE_CONTENT_LENGTH', 'differing values');
        length = n;
      }
      head.bodyLength = length;
    }
    return true;
  }

  #refuse(code: ErrorCode, detail: string | undefined): false {
    this.#fail(code, detail, 0);
    return false;
  }

  #chunkSize(line: Buffer, start: number, end: number): void {
    // chunk-size = 1*HEXDIG; chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS value ] ) (RFC 9112 §7.1)
    let i = start;
    while (i < end && line[i] === 0x30) i++;
    let size = 0;
    let digits = 0;
    for (; i < end && HEX[line[i]!]! >= 0; i++) {
      if (++digits > 13) return void this.#fail('WWW_ERR_PARSE_CHUNK', 'chunk size overflow', 0);
      size = size * 16 + HEX[line[i]!]!;
    }
    if (i === start) return void this.#fail('WWW_ERR_PARSE_CHUNK', 'missing chunk size', 0);
    if (i < end) {
      const extStart = i;
      while (i < end && (line[i] === 0x20 || line[i] === 0x09)) i++;
      if (line[i] !== 0x3b) return void this.#fail('WWW_ERR_PARSE_CHUNK', 'bad chunk size', 0);
      for (; i < end; i++) {
        const b = line[i]!;
        if (VCHAR[b] !== 1) return void this.#fail('WWW_ERR_PARSE_CHUNK', 'control character in chunk extension', 0);
      }
      const extLength = end - extStart;
      this.#extBytes += extLength;
      // Bounded per line and per message, so extensions cannot be a free channel.
      if (extLength > this.#limits.maxChunkExtension || this.#extBytes > this.#limits.maxChunkExtension * 16) {
        return void this.#fail('WWW_ERR_PARSE_CHUNK_EXT_TOO_LARGE', undefined, 0);
      }
    }
    if (size === 0) {
      this.#state = State.Trailer;
      this.#headerBytes = 0;
      this.trailers = null;
    } else {
      this.#state = State.ChunkData;
      this.#remaining = size;
    }
  }

  #complete(): void {
    if (!this.#handler.onComplete()) this.#paused = true;
  }

  #fail(code: ErrorCode, detail: string | undefined, at: number): number {
    this.#state = State.Dead;
    this.#partial = null;
    this.error = code;
    this.errorDetail = detail;
    return at;
  }
}

export { HttpParser as RequestParser };

/** A parser of the responses read from one connection (the HTTP client's). */
export function responseParser(handler: ParserHandler<ResponseHead>, limits: ParserLimits = DEFAULT_LIMITS): HttpParser<ResponseHead> {
  return new HttpParser<ResponseHead>(handler, limits, 'response');
}

/**
 * Field names that requests commonly carry, as literals: V8 keeps one copy of
 * each with its hash, so storing and finding them in the headers dictionary
 * costs a pointer comparison, where a name freshly decoded from the input is
 * hashed and looked up in the string table every time (a third of the cost of
 * parsing a request with a few fields).
 */
const COMMON_NAMES = [
  'host', 'connection', 'user-agent', 'accept', 'accept-encoding', 'accept-language', 'accept-charset',
  'content-length', 'content-type', 'transfer-encoding', 'expect', 'te', 'upgrade', 'keep-alive',
  'cookie', 'referer', 'origin', 'authorization', 'cache-control', 'pragma', 'range', 'if-range',
  'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since', 'dnt', 'priority',
  'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip', 'x-requested-with', 'forwarded', 'via',
  'upgrade-insecure-requests', 'sec-fetch-dest', 'sec-fetch-mode', 'sec-fetch-site', 'sec-fetch-user',
  'sec-ch-ua', 'sec-ch-ua-mobile', 'sec-ch-ua-platform',
];
const NAMES_BY_LENGTH: string[][] = [];
for (const name of COMMON_NAMES) (NAMES_BY_LENGTH[name.length] ??= []).push(name);

/**
 * The common name spelled by `line[start…end)` in any case, if any. The
 * bytes are tchars (checked before), of which only 'A'–'Z' change under
 * `| 0x20` into a byte a common name contains.
 */
function commonName(line: Buffer, start: number, end: number): string | undefined {
  const names = NAMES_BY_LENGTH[end - start];
  if (names === undefined) return undefined;
  next: for (const name of names) {
    for (let k = 0; k < name.length; k++) {
      if ((line[start + k]! | 0x20) !== name.charCodeAt(k)) continue next;
    }
    return name;
  }
  return undefined;
}

/** Field names are case-insensitive; most arrive in one of two spellings. */
function lowerName(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return name.toLowerCase();
  }
  return name;
}
