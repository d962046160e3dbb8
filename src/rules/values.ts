// The values a directive takes (CERN httpd HTConfig.c's argument checks):
// sizes, durations, ports, On/Off, qualities, methods, media types. Each
// parser returns the value, or a string saying what was expected.

/** A parse failure: the message for `file:line: Directive: …`. */
export class Expected {
  constructor(readonly message: string) {}
}

/** A word in a message, as the rule file would show it (no JSON escaping of '\\'). */
export const quote = (s: string): string => `"${s}"`;

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `1048576`, `512K`, `10M`, `1G` (binary multiples, as nginx's client_max_body_size). */
export function parseSize(text: string): number | Expected {
  const m = /^(\d+)([kmg]?)$/i.exec(text);
  const n = m ? Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]! : NaN;
  if (!Number.isSafeInteger(n)) return new Expected(`expected a size like 1048576, 512K, 10M or 1G, got ${quote(text)}`);
  return n;
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `10s`, `1.5s`, `2m`, `1h`; a bare `0` (disabled) needs no unit. Milliseconds. */
export function parseDuration(text: string): number | Expected {
  if (text === '0') return 0;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/i.exec(text);
  const n = m ? Math.round(Number(m[1]) * DURATION_UNITS[m[2]!.toLowerCase()]!) : NaN;
  if (!Number.isSafeInteger(n)) return new Expected(`expected a duration like 500ms, 10s or 2m, got ${quote(text)}`);
  return n;
}

export function parsePort(text: string): number | Expected {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 0 && n <= 65535)) return new Expected(`expected a port number from 0 to 65535, got ${quote(text)}`);
  return n;
}

export function parseCount(text: string): number | Expected {
  const n = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1)) return new Expected(`expected a whole number of at least 1, got ${quote(text)}`);
  return n;
}

/** The workers of `Workers` and `--workers`: 1 to 1024, or `auto` (one per CPU). */
export function parseWorkers(text: string): number | 'auto' | Expected {
  if (text.toLowerCase() === 'auto') return 'auto';
  const n = /^\d{1,4}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 1024)) return new Expected(`expected a number of workers from 1 to 1024 or auto, got ${quote(text)}`);
  return n;
}

export function parseOnOff(text: string): boolean | Expected {
  const t = text.toLowerCase();
  if (t === 'on') return true;
  if (t === 'off') return false;
  return new Expected(`expected On or Off, got ${quote(text)}`);
}

/** A quality as RFC 9110 §12.4.2 writes one: 0 to 1, up to three decimals. */
export function parseQuality(text: string): number | Expected {
  if (!/^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(text)) return new Expected(`expected a quality from 0 to 1 like 0.8, got ${quote(text)}`);
  return Number(text);
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A token (RFC 9110 §5.6.2): content codings, charsets. Lower-cased. */
export function parseToken(text: string, what: string): string | Expected {
  if (!TOKEN.test(text)) return new Expected(`expected ${what}, got ${quote(text)}`);
  return text.toLowerCase();
}

/** `type/subtype` (RFC 9110 §8.3.1), without parameters. Lower-cased. */
export function parseMediaType(text: string): string | Expected {
  const slash = text.indexOf('/');
  if (slash <= 0 || !TOKEN.test(text.slice(0, slash)) || !TOKEN.test(text.slice(slash + 1))) {
    return new Expected(`expected a media type like text/html, got ${quote(text)}`);
  }
  return text.toLowerCase();
}

/** Methods an Enable may name: RFC 9110 §9 and RFC 5789, and WebDAV's (RFC 4918). */
export const METHODS: ReadonlySet<string> = new Set([
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH',
  'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK',
]);

export function parseMethod(text: string): string | Expected {
  const m = text.toUpperCase();
  if (!METHODS.has(m)) return new Expected(`unknown method ${quote(text)} (expected one of ${[...METHODS].join(', ')})`);
  return m;
}

/** A suffix binding's key: `.html`, `.tar.gz`, or CERN's `*.*` (any other suffix) and `*` (no suffix). */
export function parseSuffix(text: string): string | Expected {
  if (text === '*' || text === '*.*') return text;
  if (!/^\.[^/*]+$/.test(text)) return new Expected(`expected a suffix like .html, got ${quote(text)}`);
  return text.toLowerCase();
}

/** A Welcome file name: one path segment. */
export function parseFileName(text: string): string | Expected {
  if (text === '' || text === '.' || text === '..' || text.includes('/') || text.includes('*')) {
    return new Expected(`expected a file name like index.html, got ${quote(text)}`);
  }
  return text;
}

/** `*`, or a serialized origin (RFC 6454 §6.2): `https://app.example`, `http://127.0.0.1:3000`; lower-cased. */
export function parseOrigin(text: string): string | Expected {
  if (text === '*' || /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/.test(text)) return text.toLowerCase();
  return new Expected(`expected * or an origin like https://app.example, got ${quote(text)}`);
}
