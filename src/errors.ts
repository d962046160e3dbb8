// The one error table. Every failure a client can see is an HttpError with a
// stable code from ERRORS; the status line and the small error body are
// generated from the request's error stack (libwww HTError). OS errors map
// to statuses here and nowhere else.

export interface ErrorSpec {
  readonly status: number;
  readonly message: string;
}

function table<T extends Record<string, ErrorSpec>>(t: T): Readonly<T> {
  for (const v of Object.values(t)) Object.freeze(v);
  return Object.freeze(t);
}

export const ERRORS = table({
  // The wire: request line, header block, framing (protocols/http-parser).
  WWW_ERR_PARSE_REQUEST_LINE: { status: 400, message: 'Malformed request line' },
  WWW_ERR_PARSE_TARGET: { status: 400, message: 'Malformed request target' },
  WWW_ERR_PARSE_VERSION: { status: 400, message: 'Malformed HTTP version' },
  WWW_ERR_PARSE_VERSION_UNSUPPORTED: { status: 505, message: 'HTTP version not supported' },
  WWW_ERR_PARSE_METHOD_UNKNOWN: { status: 501, message: 'Method not implemented' },
  WWW_ERR_PARSE_URI_TOO_LONG: { status: 414, message: 'Request line too long' },
  WWW_ERR_PARSE_HEADER: { status: 400, message: 'Malformed header field' },
  WWW_ERR_PARSE_HEADER_TOO_LARGE: { status: 431, message: 'Request header fields too large' },
  WWW_ERR_PARSE_HOST: { status: 400, message: 'Missing or invalid Host' },
  WWW_ERR_PARSE_CONTENT_LENGTH: { status: 400, message: 'Invalid Content-Length' },
  WWW_ERR_PARSE_TE_WITH_CL: { status: 400, message: 'Transfer-Encoding together with Content-Length' },
  WWW_ERR_PARSE_TE_NOT_CHUNKED: { status: 400, message: 'Final transfer coding is not chunked' },
  WWW_ERR_PARSE_TE_UNKNOWN: { status: 501, message: 'Transfer coding not implemented' },
  WWW_ERR_PARSE_CHUNK: { status: 400, message: 'Malformed chunked body' },
  WWW_ERR_PARSE_CHUNK_EXT_TOO_LARGE: { status: 400, message: 'Chunk extension too large' },
  WWW_ERR_PARSE_TRAILER_TOO_LARGE: { status: 431, message: 'Trailer section too large' },
  WWW_ERR_PARSE_EXPECT: { status: 417, message: 'Expectation not supported' },
  WWW_ERR_PARSE_PATH: { status: 400, message: 'Malformed path' },

  // Request handling and its limits.
  WWW_ERR_REQ_BODY_TOO_LARGE: { status: 413, message: 'Request body too large' },
  WWW_ERR_REQ_TIMEOUT: { status: 408, message: 'Request timed out' },
  WWW_ERR_REQ_METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed' },
  WWW_ERR_REQ_NOT_ACCEPTABLE: { status: 406, message: 'No acceptable representation' },
  WWW_ERR_REQ_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported media type' },
  WWW_ERR_REQ_PARTIAL_PUT: { status: 400, message: 'A PUT with Content-Range is not stored' },
  WWW_ERR_REQ_BODY_INCOMPLETE: { status: 400, message: 'Request body incomplete' },
  WWW_ERR_REQ_ABORTED: { status: 499, message: 'Client closed the request' },
  WWW_ERR_REQ_STOPPING: { status: 503, message: 'Server is stopping' },

  // The rule file and translation.
  WWW_ERR_RULE_FORBIDDEN: { status: 403, message: 'Forbidden by rule' },
  WWW_ERR_RULE_NOT_PASSED: { status: 403, message: 'Not passed by any rule' },
  WWW_ERR_RULE_NO_PROTOCOL: { status: 501, message: 'No protocol module for this address' },

  // Authentication (Protect rules, src/auth).
  WWW_ERR_AUTH_REQUIRED: { status: 401, message: 'Authentication required' },
  WWW_ERR_AUTH_FORBIDDEN: { status: 403, message: 'Not allowed for this user' },
  WWW_ERR_AUTH_RATE: { status: 429, message: 'Too many failed authentication attempts' },

  // The FILE protocol module.
  WWW_ERR_FILE_NOT_FOUND: { status: 404, message: 'Not found' },
  WWW_ERR_FILE_FORBIDDEN: { status: 403, message: 'Forbidden' },
  WWW_ERR_FILE_BUSY: { status: 503, message: 'Too many open files' },
  WWW_ERR_FILE_NO_SPACE: { status: 507, message: 'Insufficient storage' },
  WWW_ERR_FILE_CONFLICT: { status: 409, message: 'Conflict with the current state of the target' },
  WWW_ERR_FILE_PRECONDITION: { status: 412, message: 'Precondition failed' },
  WWW_ERR_FILE_RANGE: { status: 416, message: 'Range not satisfiable' },
  WWW_ERR_FILE_IO: { status: 500, message: 'File system error' },

  // Converters and the stream stack.
  WWW_ERR_CONV_FAILED: { status: 500, message: 'Conversion failed' },
  WWW_ERR_CONV_DECODE: { status: 400, message: 'Content coding could not be decoded' },
  WWW_ERR_CONV_CODING_UNKNOWN: { status: 415, message: 'Content coding not supported' },
  WWW_ERR_CONV_TOO_MANY_CODINGS: { status: 415, message: 'Too many content codings' },
  WWW_ERR_CONV_MULTIPART: { status: 400, message: 'Malformed multipart body' },

  // The upstream (HTTP client module).
  WWW_ERR_PROXY_CONNECT: { status: 502, message: 'Upstream unreachable' },
  WWW_ERR_PROXY_DNS: { status: 502, message: 'Upstream host not found' },
  WWW_ERR_PROXY_TLS: { status: 502, message: 'Upstream TLS handshake failed' },
  WWW_ERR_PROXY_RESET: { status: 502, message: 'Upstream closed the connection' },
  WWW_ERR_PROXY_RESPONSE: { status: 502, message: 'Malformed upstream response' },
  WWW_ERR_PROXY_CONNECT_TIMEOUT: { status: 504, message: 'Upstream connect timed out' },
  WWW_ERR_PROXY_HEAD_TIMEOUT: { status: 504, message: 'Upstream response timed out' },
  WWW_ERR_PROXY_BODY_TIMEOUT: { status: 504, message: 'Upstream body timed out' },
  WWW_ERR_PROXY_NOT_ALLOWED: { status: 403, message: 'Destination not allowed by the rules' },
  WWW_ERR_PROXY_ADDRESS: { status: 403, message: 'Destination address not allowed' },
  // The HTTP cache in front of the upstream (src/http-cache/).
  WWW_ERR_PROXY_RANGE: { status: 416, message: 'Range not satisfiable' },
  WWW_ERR_PROXY_ONLY_IF_CACHED: { status: 504, message: 'Not in the cache (only-if-cached)' },
  WWW_ERR_PROXY_MUST_REVALIDATE: { status: 504, message: 'Stale in the cache, and the upstream unreachable to revalidate it' },

  // Anything else.
  WWW_ERR_INTERNAL: { status: 500, message: 'Internal server error' },
});

export type ErrorCode = keyof typeof ERRORS;

export interface HttpErrorOptions {
  headers?: Record<string, string>;
  cause?: unknown;
}

export class HttpError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  /** Whether `detail` may be shown to the client: only client errors. */
  readonly expose: boolean;
  readonly headers: Record<string, string> | undefined;
  readonly detail: string | undefined;

  constructor(code: ErrorCode, detail?: string, options?: HttpErrorOptions) {
    const spec = ERRORS[code];
    super(detail ? `${spec.message}: ${detail}` : spec.message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpError';
    this.status = spec.status;
    this.code = code;
    this.expose = spec.status < 500;
    this.headers = options?.headers;
    this.detail = detail;
  }

  /** The one line an error body carries. */
  get publicMessage(): string {
    return this.expose ? this.message : ERRORS[this.code].message;
  }
}

/** OS error → HttpError, in one place (send/serve-static's lesson). */
export function fromOsError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'ENAMETOOLONG':
    case 'ELOOP':
    case 'EISDIR':
      return new HttpError('WWW_ERR_FILE_NOT_FOUND', undefined, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new HttpError('WWW_ERR_FILE_FORBIDDEN', undefined, { cause: err });
    case 'EMFILE':
    case 'ENFILE':
      return new HttpError('WWW_ERR_FILE_BUSY', undefined, { cause: err, headers: { 'Retry-After': '5' } });
    case 'ENOSPC':
    case 'EDQUOT':
      return new HttpError('WWW_ERR_FILE_NO_SPACE', undefined, { cause: err });
    default:
      return new HttpError('WWW_ERR_FILE_IO', code, { cause: err });
  }
}

export const STATUS_TEXT: Readonly<Record<number, string>> = Object.freeze({
  100: 'Continue', 101: 'Switching Protocols', 103: 'Early Hints',
  200: 'OK', 201: 'Created', 202: 'Accepted', 203: 'Non-Authoritative Information', 204: 'No Content',
  205: 'Reset Content', 206: 'Partial Content',
  300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 304: 'Not Modified',
  307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  406: 'Not Acceptable', 408: 'Request Timeout', 409: 'Conflict', 410: 'Gone', 411: 'Length Required',
  412: 'Precondition Failed', 413: 'Content Too Large', 414: 'URI Too Long', 415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable', 417: 'Expectation Failed', 421: 'Misdirected Request', 422: 'Unprocessable Content',
  426: 'Upgrade Required', 428: 'Precondition Required', 429: 'Too Many Requests',
  431: 'Request Header Fields Too Large', 499: 'Client Closed Request',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Gateway Timeout', 505: 'HTTP Version Not Supported', 507: 'Insufficient Storage',
});
