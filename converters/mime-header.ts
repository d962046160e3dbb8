// The MIME header parser as a converter (libwww HTMIME): `message/http` →
// `message/http-head`, header-only mode, the server's use. Bytes in; out, in
// object mode, one `{ head }` per request, `{ body }` for its body bytes and
// `{ end: true }` when the message is complete. The wire calls the same
// parser (protocols/http-parser.ts) directly on its hot path; this
// registration lets a plugin or a tool stack it like any other converter.

import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import type { Converter } from '../src/converter.js';
import { RequestParser } from '../protocols/http-parser.js';
import type { RequestHead } from '../protocols/http-parser.js';
import { HttpError } from '../src/errors.js';

export type HeadEvent = { head: RequestHead } | { body: Buffer } | { end: true };

export class MimeHeaderParser extends Transform {
  readonly #parser: RequestParser;

  constructor() {
    super({ readableObjectMode: true });
    this.#parser = new RequestParser({
      onHead: (head) => {
        this.push({ head });
        return true;
      },
      onBody: (chunk) => {
        // The view belongs to the input buffer; the consumer may keep it.
        this.push({ body: Buffer.from(chunk) });
        return true;
      },
      onComplete: () => {
        this.push({ end: true });
        return true;
      },
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#parser.execute(chunk);
    const code = this.#parser.error;
    callback(code === null ? null : new HttpError(code, this.#parser.errorDetail));
  }

  override _flush(callback: TransformCallback): void {
    callback(this.#parser.idle ? null : new HttpError('WWW_ERR_PARSE_REQUEST_LINE', 'incomplete message at end of input'));
  }
}

export const mimeHeader: Converter = {
  from: 'message/http',
  to: 'message/http-head',
  quality: 1,
  create: () => new MimeHeaderParser(),
};
