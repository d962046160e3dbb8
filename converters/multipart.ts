// multipart/form-data → parts (RFC 7578), the www/parts pseudo-format,
// parsed by busboy. libwww counterpart: HTMIMPrs / HTBound (its multipart
// boundary stream). The FILE module stores each file part through `onFile`.
//
// Limits: every one crossed rejects with HttpError WWW_ERR_REQ_BODY_TOO_LARGE
// (413) at once; the file stream being delivered is destroyed with that error
// so the consumer sees its write fail and removes what it half stored.
// Backpressure: busboy holds its write callback until a file stream is read
// again, so a slow consumer slows the request body instead of filling memory.

import type { Readable } from 'node:stream';
import { createRequire } from 'node:module';
import type busboy from 'busboy';
import { HttpError } from '../src/errors.js';
import type { Request } from '../src/request.js';

// busboy loads with the first form: a server without uploads never pays for it.
const require = createRequire(import.meta.url);
let parserFactory: typeof busboy | undefined;

export interface MultipartLimits {
  /** Fields and files together. */
  readonly parts: number;
  /** Bytes in one field's value. */
  readonly fieldSize: number;
  /** Bytes in one file. */
  readonly fileSize: number;
  readonly files: number;
}

export interface FilePart {
  /** The form field name. */
  readonly name: string;
  /** The client's file name, unsanitised ('' when none was sent). */
  readonly filename: string;
  readonly mimeType: string;
  /** The file's bytes; must be consumed (or destroyed) by onFile. */
  readonly stream: Readable;
}

export interface MultipartField {
  readonly name: string;
  readonly value: string;
}

export interface MultipartResult<T> {
  readonly fields: MultipartField[];
  /** In the order of the body, each with what onFile resolved to. */
  readonly files: Array<Omit<FilePart, 'stream'> & { readonly result: T }>;
}

/** A body to parse when there is no Request (tests, the HTTP client). */
export interface MultipartSource {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Readable;
  readonly signal?: AbortSignal;
}

function tooLarge(what: string): HttpError {
  return new HttpError('WWW_ERR_REQ_BODY_TOO_LARGE', what);
}

function sourceOf(source: Request | MultipartSource): MultipartSource | null {
  if (!('method' in source)) return source;
  const body = source.body();
  return body === null ? null : { headers: source.headers, body, signal: source.signal };
}

/**
 * Parses a multipart/form-data body. Resolves once every part is parsed and
 * every onFile promise has settled; rejects with the first failure. On
 * rejection the body is unpiped and drained (the wire's own size limit and
 * timeouts bound what that reads).
 */
export function parseMultipart<T = void>(
  request: Request | MultipartSource,
  limits: MultipartLimits,
  onFile: (part: FilePart) => Promise<T>,
): Promise<MultipartResult<T>> {
  const contentType = request.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    return Promise.reject(new HttpError('WWW_ERR_REQ_UNSUPPORTED_MEDIA_TYPE', 'expected multipart/form-data'));
  }
  const source = sourceOf(request);
  if (source === null) return Promise.reject(new HttpError('WWW_ERR_CONV_MULTIPART', 'empty body'));
  const { body, signal } = source;

  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      // busboy reports a limit when a value *reaches* it: one byte more lets
      // a file of exactly fileSize bytes through. Counts are kept here, so a
      // part over the count is refused before its bytes are stored.
      parserFactory ??= require('busboy') as typeof busboy;
      parser = parserFactory({
        headers: { 'content-type': contentType },
        limits: { fileSize: limits.fileSize + 1, fieldSize: limits.fieldSize + 1 },
      });
    } catch (err) {
      reject(new HttpError('WWW_ERR_CONV_MULTIPART', (err as Error).message));
      return;
    }
    const fields: MultipartField[] = [];
    const files: Array<MultipartResult<T>['files'][number] | undefined> = [];
    const pending: Promise<void>[] = [];
    const open = new Set<Readable>();
    let parts = 0;
    let settled = false;

    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      reject(err);
      // Not from inside busboy's own callbacks: it still holds the part.
      process.nextTick(() => {
        body.unpipe(parser);
        body.resume();
        for (const stream of open) stream.destroy(err as Error);
        parser.destroy();
      });
    };
    const onAbort = (): void => fail(signal!.reason ?? new HttpError('WWW_ERR_REQ_ABORTED'));

    parser.on('file', (name, stream, info) => {
      // Errors reach the consumer through its own pipe and the caller through
      // the promise; this listener only keeps an unread stream from throwing.
      stream.on('error', () => {});
      if (!settled && ++parts > limits.parts) fail(tooLarge(`more than ${limits.parts} parts`));
      if (!settled && files.length >= limits.files) fail(tooLarge(`more than ${limits.files} files`));
      if (settled) {
        stream.resume();
        return;
      }
      const index = files.length;
      files.push(undefined);
      open.add(stream);
      stream.once('close', () => open.delete(stream));
      stream.once('limit', () => fail(tooLarge(`file larger than ${limits.fileSize} bytes`)));
      const part: FilePart = { name, filename: info.filename ?? '', mimeType: info.mimeType, stream };
      pending.push(Promise.resolve().then(() => onFile(part)).then((result) => {
        files[index] = { name: part.name, filename: part.filename, mimeType: part.mimeType, result };
        // A consumer that returned without reading would stall the parser.
        if (!stream.readableEnded && !stream.destroyed) stream.resume();
      }, fail));
    });
    parser.on('field', (name, value, info) => {
      if (settled) return;
      if (++parts > limits.parts) return fail(tooLarge(`more than ${limits.parts} parts`));
      if (info.valueTruncated) return fail(tooLarge(`field larger than ${limits.fieldSize} bytes`));
      if (info.nameTruncated) return fail(tooLarge('field name too long'));
      fields.push({ name, value });
    });
    parser.on('error', (err: Error) => fail(err instanceof HttpError ? err : new HttpError('WWW_ERR_CONV_MULTIPART', err.message)));
    parser.on('close', () => {
      void Promise.all(pending).then(() => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        resolve({ fields, files: files as MultipartResult<T>['files'] });
      });
    });
    body.once('error', fail);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    body.pipe(parser);
  });
}
