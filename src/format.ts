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

/** The Content-Type field value of a format. */
export function contentType(format: Format): string {
  let out = format.type;
  for (const name in format.params) {
    const value = format.params[name]!;
    out += `; ${name}=${/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(value) ? value : JSON.stringify(value)}`;
  }
  return out;
}

/**
 * Parses a Content-Type style value (`text/html; charset="UTF-8"`) into a
 * Format; null when the type is not `type/subtype` (RFC 9110 §8.3.1).
 */
export function parseMediaType(value: string): Format | null {
  const semi = value.indexOf(';');
  const type = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
  const slash = type.indexOf('/');
  if (slash <= 0 || slash === type.length - 1 || type.indexOf('/', slash + 1) !== -1) return null;
  if (semi === -1) return makeFormat(type);
  const params: Record<string, string> = {};
  for (const part of value.slice(semi + 1).split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim().toLowerCase();
    let v = part.slice(eq + 1).trim();
    if (v.length >= 2 && v[0] === '"' && v[v.length - 1] === '"') v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    if (name) params[name] = name === 'charset' ? v.toLowerCase() : v;
  }
  return makeFormat(type, params);
}

/** Whether a type is text that a charset applies to (RFC 9110 §8.3.2). */
export function isTextual(type: string): boolean {
  return type.startsWith('text/') || type === 'application/json' || type.endsWith('+json')
    || type === 'application/xml' || type.endsWith('+xml')
    || type === 'application/javascript' || type === 'application/ecmascript';
}

/**
 * Whether compressing a type on the fly pays. text/event-stream is left out:
 * a compressor would hold events back until its window fills.
 */
export function isCompressible(type: string): boolean {
  if (type === 'text/event-stream') return false;
  return isTextual(type) || type === 'image/svg+xml' || type === 'application/wasm'
    || type === 'application/x-javascript' || type === 'application/manifest+json'
    || type === 'application/vnd.ms-fontobject' || type === 'font/ttf' || type === 'font/otf'
    || type === 'image/x-icon' || type === 'image/vnd.microsoft.icon' || type === 'image/bmp';
}
