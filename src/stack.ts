// The stream stack (libwww HTStreamStack): from the format a protocol module
// produced to what the client accepts, in three steps —
//   type     a registry converter chosen by client q × converter q (RFC 9110 §12.1),
//            then the filter of the type it gives, if one is registered;
//   charset  an iconv-lite transcoder chosen by Accept-Charset / OutputCharset;
//   coding   gzip, br or deflate on the fly, chosen by Accept-Encoding.
// Each step that could have gone another way adds its field to Vary. When no
// step applies the reply is returned as it came: no stream object is made.
// The decisions are the same for HEAD as for GET, and so are the fields
// (RFC 9110 §9.3.2), Content-Length included whenever GET's is known: for
// that a module hands HEAD the bytes GET would get when it has them in
// memory (the writer sends none), or leaves them on the anchor; a HEAD with
// no bytes stands for a GET that streams (chunked, no Content-Length).

import { Readable, pipeline, type Duplex, type Transform } from 'node:stream';
import type { Converter } from './converter.js';
import { HttpError } from './errors.js';
import { isCompressible, isTextual, makeFormat, parseMediaType, type Format } from './format.js';
import { hasToken, identityIsImplicit, qualityOfCharset, qualityOfCoding, qualityOfType } from './negotiate.js';
import type { ConverterRegistry } from './registry.js';
import { errorReply, type Reply } from './reply.js';
import type { Request } from './request.js';
import { CharsetTranscoder, charsetSupported, sameCharset, transcodeSync } from '../converters/charset.js';
import { codingByName, codings, type ContentCoding } from '../converters/index.js';
import { getHeader, mergeVary, variantETag, withoutHeaders } from './stack-headers.js';

export { baseETag, variantETag } from './stack-headers.js';

export interface StackOptions {
  /** Smallest known length worth compressing on the fly; default 1024. */
  readonly compressMinSize?: number;
  /** The OutputCharset directive: the charset text is sent in when the client does not say. */
  readonly outputCharset?: string;
  /** gzip and deflate level, 0–9; default 6 (zlib's). */
  readonly compressionLevel?: number;
  /** br quality, 0–11; default 4. */
  readonly brotliQuality?: number;
  /** Buffer bodies up to this size are converted at once instead of streamed; default 128 KiB. */
  readonly syncLimit?: number;
}

const DEFAULT_MIN_SIZE = 1024;
const DEFAULT_SYNC_LIMIT = 128 * 1024;

/** A converter's output: its `to` with params; text without a charset is UTF-8. */
const outputs = new WeakMap<Converter, Format>();
function outputOf(converter: Converter): Format {
  let format = outputs.get(converter);
  if (format === undefined) {
    const parsed = parseMediaType(converter.to)!;
    format = parsed.type.startsWith('text/') && parsed.params.charset === undefined
      ? makeFormat(parsed.type, Object.assign({}, parsed.params, { charset: 'utf-8' }))
      : parsed;
    outputs.set(converter, format);
  }
  return format;
}

/** Step 1: the best of the source and every one-step conversion. */
function chooseType(source: Format, request: Request, registry: ConverterRegistry): { converter: Converter | null; vary: boolean } {
  const alternatives = registry.candidates(source, request.converters);
  if (alternatives.length === 0) return { converter: null, vary: false };
  const accept = request.headers['accept'];
  // Pseudo-formats (www/dir) are never sent as they are: a converter must run.
  const pseudo = source.type.startsWith('www/');
  let best: Converter | null = null;
  let bestScore = pseudo ? -1 : qualityOfType(accept, source.type, source.params);
  let bestQ = pseudo ? -1 : 1;
  for (const c of alternatives) {
    const out = outputOf(c);
    const q = c.quality ?? 1;
    const score = qualityOfType(accept, out.type, out.params) * q;
    // Ties keep the source (the zero-cost path); for a pseudo-format the
    // better converter wins when the client accepts none of them.
    if (score > bestScore || (pseudo && score === bestScore && q > bestQ)) {
      best = c;
      bestScore = score;
      bestQ = q;
    }
  }
  return { converter: best, vary: !pseudo || alternatives.length > 1 };
}

/**
 * Step 1b: the filter of the type to send (a registration from it to
 * itself), where its bytes can be read: not under `no-transform`, nor into
 * UTF-16 or UTF-32 text that a byte-wise filter would break; a body in
 * content codings is decoded for it first (decodersFor) or left alone. It
 * depends on no request field, so it adds nothing to Vary.
 */
function chooseFilter(format: Format, request: Request, registry: ConverterRegistry): Converter | null {
  const filter = registry.filterFor(format.type, request.converters);
  if (filter === null) return null;
  const charset = format.params.charset;
  return charset !== undefined && WIDE_CHARSET.test(charset) ? null : filter;
}

const WIDE_CHARSET = /^utf-?(16|32)/i;

/**
 * The decoders that give a filter the plain bytes of a content-encoded body
 * (a `.gz` or `.br` sidecar), last coding first; null when the body is not
 * encoded, no filter wants its type, or one of its codings is unknown (a
 * body we cannot decode is never filtered).
 */
function decodersFor(source: Format, request: Request, registry: ConverterRegistry): ContentCoding[] | null {
  if (source.codings.length === 0 || chooseFilter(source, request, registry) === null) return null;
  const out: ContentCoding[] = [];
  for (let i = source.codings.length - 1; i >= 0; i--) {
    const coding = codingByName(source.codings[i]!.toLowerCase());
    if (coding === undefined) return null;
    out.push(coding);
  }
  return out;
}

/** Step 2: the charset to send, or null to keep it; `vary` when another choice existed. */
function chooseCharset(format: Format, request: Request, outputCharset: string | undefined): { to: string | null; vary: boolean } {
  const source = format.params.charset;
  if (source === undefined || !isTextual(format.type)) return { to: null, vary: false };
  const alternative = outputCharset ?? 'utf-8';
  if (sameCharset(source, alternative) || !charsetSupported(source) || !charsetSupported(alternative)) return { to: null, vary: false };
  const acceptCharset = request.headers['accept-charset'];
  // Without Accept-Charset, OutputCharset decides; with it, the better of the two.
  const wanted = acceptCharset === undefined
    ? outputCharset ?? source
    : qualityOfCharset(acceptCharset, alternative) > qualityOfCharset(acceptCharset, source) ? alternative : source;
  return { to: wanted === source ? null : wanted.toLowerCase(), vary: true };
}

/** Step 3: the content coding, or null for identity; `vary` when Accept-Encoding mattered. */
/** `identity` is the client's q for identity (qualityOfCoding), which the caller needs too. */
function chooseCoding(type: string, length: number, ae: string | undefined, identity: number, minSize: number): { coding: ContentCoding | null; vary: boolean } {
  const compressible = isCompressible(type);
  // No Accept-Encoding: the RFC allows any coding, but clients such as curl
  // without --compressed could not read it; send identity like every server.
  if (ae === undefined) return { coding: null, vary: compressible };
  // Identity refused: any acceptable coding beats a 406, whatever the type or size.
  if (identity > 0 && (!compressible || (length !== -1 && length < minSize))) return { coding: null, vary: compressible };
  let coding: ContentCoding | null = null;
  let q = 0;
  for (const c of codings) {
    const cq = qualityOfCoding(ae, c.name);
    if (cq > q) {
      coding = c;
      q = cq;
    }
  }
  // An explicit identity weighed above every coding keeps the bytes as they are.
  if (coding !== null && !identityIsImplicit(ae) && q < identity) coding = null;
  return { coding, vary: true };
}

function fail(request: Request, body: Reply['body'], made: readonly Duplex[], err: unknown): Reply {
  if (body instanceof Readable) body.destroy();
  for (const stream of made) stream.destroy();
  const detail = err instanceof Error ? err.message : String(err);
  return errorReply(request.fail(new HttpError('WWW_ERR_CONV_FAILED', detail, { cause: err })));
}

/**
 * Node calls a Writable's _write without a try: a converter that throws
 * there would throw out of the source's 'data' event and end the process.
 * Its stream's writes are wrapped so a throw becomes that stream's error.
 * (_read and _final are already guarded by Node itself.)
 */
function guard(stream: Duplex): Duplex {
  const write = stream._write;
  stream._write = function guardedWrite(this: Duplex, chunk: unknown, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    try {
      write.call(this, chunk, encoding, callback);
    } catch (err) {
      callback(err as Error);
    }
  };
  const writev = stream._writev;
  if (typeof writev === 'function') {
    stream._writev = function guardedWritev(this: Duplex, chunks, callback): void {
      try {
        writev.call(this, chunks, callback);
      } catch (err) {
        callback(err as Error);
      }
    };
  }
  return stream;
}

/**
 * `reply` with `changes`: Object.assign rather than a spread literal with
 * more fields, for which V8 (Node 20) takes a slow path (about 2 µs a reply).
 */
function converted(reply: Reply, changes: Partial<Reply>): Reply {
  return Object.assign({}, reply, changes);
}

function isStream(value: unknown): value is Duplex {
  return typeof value === 'object' && value !== null && typeof (value as Duplex).pipe === 'function'
    && typeof (value as Duplex).write === 'function';
}

/**
 * Stacks the converters between `reply` and the client. Returns `reply`
 * itself when nothing converts (Vary may be added to its headers), a new
 * reply otherwise, or a 406/500 error reply.
 */
export function stackReply(reply: Reply, request: Request, registry: ConverterRegistry, options: StackOptions = {}): Reply {
  const source = reply.format;
  const status = reply.status;
  if (source === null || status < 200 || status === 204) return reply;
  const noTransform = hasToken(getHeader(reply.headers, 'Cache-Control'), 'no-transform');
  const pseudo = source.type.startsWith('www/');
  const decoders = noTransform || pseudo ? null : decodersFor(source, request, registry);
  // Decoded for a filter, the body counts as plain from here on (and is
  // encoded again by the coding step); otherwise encoded bytes are left alone.
  const encoded = decoders === null && source.codings.length > 0;
  const vary: string[] = [];

  let converter: Converter | null = null;
  let format = decoders === null ? source : makeFormat(source.type, source.params);
  if (pseudo || (!noTransform && !encoded)) {
    const type = chooseType(source, request, registry);
    converter = type.converter;
    if (type.vary) vary.push('Accept');
    if (converter !== null) format = outputOf(converter);
    else if (pseudo) return status === 304 ? reply : fail(request, reply.body, [], new Error(`no converter from ${source.type}`));
  }
  const filter = !noTransform && !encoded ? chooseFilter(format, request, registry) : null;
  const filtered = filter !== null ? format : null;

  let charset: string | null = null;
  if (!noTransform && !encoded) {
    const choice = chooseCharset(format, request, options.outputCharset);
    charset = choice.to;
    if (choice.vary) vary.push('Accept-Charset');
    if (charset !== null) format = makeFormat(format.type, Object.assign({}, format.params, { charset }));
  }

  let coding: ContentCoding | null = null;
  const ae = request.headers['accept-encoding'];
  const identity = qualityOfCoding(ae, 'identity');
  if (!noTransform && !encoded) {
    const body = reply.body;
    const length = converter !== null || filter !== null || decoders !== null ? -1 : Buffer.isBuffer(body) ? body.length : reply.length;
    const choice = chooseCoding(format.type, length, ae, identity, options.compressMinSize ?? DEFAULT_MIN_SIZE);
    coding = choice.coding;
    if (choice.vary) vary.push('Accept-Encoding');
  }
  // A 206 is never converted: its ranges are ranges of the selected
  // representation. It says the Vary its 200 would (RFC 9110 §15.3.7), as a
  // 304 does (§15.4.5), whose format is that of the representation it
  // confirms and whose head the writer gives no Content-Type.
  if (status === 206 || status === 304) {
    if (vary.length > 0) reply.headers.Vary = mergeVary(getHeader(reply.headers, 'Vary'), vary);
    return reply;
  }
  // RFC 9110 §12.5.3: identity refused (identity;q=0, or *;q=0 without it)
  // and no coding we may send: 406 rather than bytes the client refused.
  if (coding === null && !encoded && status < 300 && identity === 0) {
    if (reply.body instanceof Readable) reply.body.destroy();
    return errorReply(request.fail(new HttpError('WWW_ERR_REQ_NOT_ACCEPTABLE', 'no acceptable content coding', { headers: { Vary: 'Accept-Encoding' } })));
  }

  if (converter === null && filter === null && decoders === null && charset === null && coding === null) {
    // The zero-cost path: the same object, at most a Vary more.
    if (vary.length > 0) reply.headers.Vary = mergeVary(getHeader(reply.headers, 'Vary'), vary);
    return reply;
  }

  const headers = withoutHeaders(reply.headers, ['content-length', 'content-type', 'content-encoding', 'accept-ranges']);
  if (vary.length > 0) headers.Vary = mergeVary(getHeader(reply.headers, 'Vary'), vary);
  const etag = getHeader(reply.headers, 'ETag');
  if (etag !== undefined) headers.ETag = variantETag(etag, converter !== null ? outputOf(converter).type : null, charset, coding?.name ?? null, filtered?.type ?? null);
  const out = makeFormat(format.type, format.params, coding === null ? [] : [coding.name]);
  const level = coding === null ? undefined : coding.name === 'br' ? options.brotliQuality : options.compressionLevel ?? 6;

  const head = request.method === 'HEAD';
  const body = head && reply.body === null ? bytesOnAnchor(reply) : reply.body;
  if (body === null) return converted(reply, { headers, trailers: undefined, format: out, length: -1, body: null });

  // Small buffers: convert at once and keep a Buffer with an exact length.
  if (Buffer.isBuffer(body) && converter === null && filter === null && decoders === null && body.length <= (options.syncLimit ?? DEFAULT_SYNC_LIMIT)) {
    try {
      let bytes = charset === null ? body : transcodeSync(body, source.params.charset!, charset);
      if (coding !== null) bytes = encodeCached(reply, bytes, coding, level, charset === null);
      return converted(reply, { headers, trailers: undefined, format: out, length: bytes.length, body: head ? null : bytes });
    } catch (err) {
      return fail(request, null, [], err);
    }
  }
  // GET would stream, its length unknown until the end: HEAD says none and makes no stream.
  if (head) {
    if (body instanceof Readable) body.destroy();
    return converted(reply, { headers, trailers: undefined, format: out, length: -1, body: null });
  }

  const stages: Duplex[] = [];
  try {
    // Content codings were applied in the order listed: undone last first (RFC 9110 §8.4).
    if (decoders !== null) for (const d of decoders) stages.push(d.decoder());
    if (converter !== null) {
      const stream: unknown = converter.create({ request, from: source, to: outputOf(converter) });
      if (!isStream(stream)) throw new TypeError(`converter ${converter.from} → ${converter.to} did not return a stream`);
      stages.push(guard(stream));
    }
    if (filter !== null) {
      const stream: unknown = filter.create({ request, from: filtered!, to: filtered! });
      if (!isStream(stream)) throw new TypeError(`filter ${filter.from} → ${filter.to} did not return a stream`);
      stages.push(guard(stream));
    }
    if (charset !== null) stages.push(new CharsetTranscoder(converter !== null ? outputOf(converter).params.charset! : source.params.charset!, charset));
    if (coding !== null) stages.push(coding.encoder({ level, sizeHint: converter === null && filter === null && decoders === null ? reply.length : -1 }));
  } catch (err) {
    return fail(request, body, stages, err);
  }
  return converted(reply, { headers, trailers: undefined, format: out, length: -1, body: chain(request, body, stages) });
}

/** The identity bytes of the anchor's cached document, when this reply is of that document (same ETag and length). */
function bytesOnAnchor(reply: Reply): Buffer | null {
  const doc = reply.anchor?.document;
  const bytes = doc?.bodies.get('');
  return bytes !== undefined && bytes.length === reply.length && doc!.etag === getHeader(reply.headers, 'ETag') ? bytes : null;
}

/** An encoded variant of a memory-cached document, kept on its anchor for the next request. */
function encodeCached(reply: Reply, bytes: Buffer, coding: ContentCoding, level: number | undefined, cacheable: boolean): Buffer {
  const bodies = reply.anchor?.document?.bodies;
  if (!cacheable || bodies === undefined || bodies.get('') !== bytes) return coding.encodeSync(bytes, { level });
  let encoded = bodies.get(coding.name);
  if (encoded === undefined) {
    encoded = coding.encodeSync(bytes, { level });
    bodies.set(coding.name, encoded);
  }
  return encoded;
}

/**
 * Pipes the body through the stages. An error anywhere destroys the whole
 * chain, so the last stream (the reply body) errors and the wire closes the
 * connection; the request's abort destroys it the same way.
 */
function chain(request: Request, body: Buffer | Readable, stages: readonly Duplex[]): Readable {
  const source = Buffer.isBuffer(body) ? Readable.from([body], { objectMode: false }) : body;
  const last = stages[stages.length - 1] as Transform;
  const onAbort = (): void => {
    last.destroy(request.signal.reason instanceof Error ? request.signal.reason : new HttpError('WWW_ERR_REQ_ABORTED'));
  };
  pipeline([source, ...stages], (err) => {
    request.signal.removeEventListener('abort', onAbort);
    if (err && !request.aborted && (err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
      request.fail(err instanceof HttpError ? err : new HttpError('WWW_ERR_CONV_FAILED', err.message, { cause: err }));
    }
  });
  if (request.aborted) onAbort();
  else request.signal.addEventListener('abort', onAbort, { once: true });
  return last;
}
