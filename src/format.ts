// Format: a media type, its parameters (charset…) and the content codings
// applied to it, in order (libwww HTFormat + HTEncoding). Internal
// pseudo-formats keep libwww's spirit: '*/*' is the source, 'www/dir' a
// directory listing, 'www/parts' the parts of a multipart body.

export interface Format {
  /** Lower-case `type/subtype`. */
  readonly type: string;
  /** Lower-case parameter names; `charset` values lower-cased too. */
  readonly params: Readonly<Record<string, string>>;
  /** Content codings applied to the bytes, first applied first (RFC 9110 §8.4). */
  readonly codings: readonly string[];
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});
const NO_CODINGS: readonly string[] = Object.freeze([]);

export function makeFormat(type: string, params?: Record<string, string>, codings?: readonly string[]): Format {
  return {
    type: type.toLowerCase(),
    params: params && Object.keys(params).length > 0 ? params : NO_PARAMS,
    codings: codings && codings.length > 0 ? codings : NO_CODINGS,
  };
}

export function charsetOf(format: Format): string | undefined {
  return format.params.charset;
}

/** The Content-Type field value of a format. */
export function contentType(format: Format): string {
  let out = format.type;
  for (const name in format.params) {
    const value = format.params[name]!;
    out += `; ${name}=${/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value) ? value : JSON.stringify(value)}`;
  }
  return out;
}
