// The access log (CERN httpd's HTLog): one line per reply written or cut
// short (the client went away, the body failed), in the
// Common Log Format, the combined format (with Referer and User-Agent) or
// JSON; or, without a log file and with a terminal on stdout, one short
// coloured line per request. The formats are pure functions of a LogEntry;
// the sink (log-sink.ts) buffers the lines and writes them off the event
// loop.
//
// A client chooses the bytes of the target, the Referer and the User-Agent:
// every control character and non-ASCII byte is written as \xHH (and `"` and
// `\` in quoted fields as \" and \\), so no request can add a line to the log
// or an escape sequence to a terminal. Credentials never reach it: the
// authuser field is what an authentication module set as `request.user`.

import type { Request } from './request.js';
import type { Reply } from './reply.js';
import { LogSink } from './log-sink.js';
import type { LogSinkOptions } from './log-sink.js';

export type LogFormat = 'common' | 'combined' | 'json';

export const LOG_FORMATS: readonly LogFormat[] = ['common', 'combined', 'json'];

/** What one line says about one reply. */
export interface LogEntry {
  /** When the reply was written whole (ms since the epoch). */
  time: number;
  /** The client's address. */
  remote: string;
  /** The authenticated user, never a credential; null when none. */
  user: string | null;
  /** null when there is no request: a head that could not be parsed. */
  method: string | null;
  target: string | null;
  /** `HTTP/1.1`, `HTTP/1.0`. */
  version: string | null;
  status: number;
  /** Body bytes sent. */
  bytes: number;
  referer: string | null;
  userAgent: string | null;
  /** From the request's head to its reply written whole (or cut short); null without a request. */
  durationMs: number | null;
  /** False for a reply cut short: its status is the one its head had (499: never sent), `bytes` what the kernel took. */
  complete: boolean;
}

/** The entry for a reply written (WireEvents.onReply) or cut short (onCut); `peer` is the address when there is no request. */
export function logEntry(request: Request | null, reply: Reply, bytes: number, now: number, peer = '', complete = true): LogEntry {
  if (request === null) {
    return {
      time: now, remote: peer, user: null, method: null, target: null, version: null,
      status: reply.status, bytes, referer: null, userAgent: null, durationMs: null, complete,
    };
  }
  return {
    time: now,
    remote: request.remoteAddress,
    user: request.user ?? null,
    method: request.method,
    target: request.target,
    version: `HTTP/1.${request.versionMinor}`,
    status: reply.status,
    bytes,
    referer: request.headers.referer ?? null,
    userAgent: request.headers['user-agent'] ?? null,
    durationMs: Math.max(0, now - request.startedAt),
    complete,
  };
}

// --- escaping ----------------------------------------------------------------

const HEX = '0123456789abcdef';

function hex(byte: number): string {
  return '\\x' + HEX[byte >> 4]! + HEX[byte & 15]!;
}

/** Needs escaping: a control character, DEL, non-ASCII; a space outside quotes; `"` and `\` inside. */
function unsafe(c: number, quoted: boolean): boolean {
  if (c < 0x20 || c >= 0x7f) return true;
  return quoted ? c === 0x22 || c === 0x5c : c === 0x20;
}

/**
 * A field as the log may hold it: printable ASCII only. Header values and
 * targets come from the wire as latin1, one character a byte, so a
 * character up to U+00FF is its byte; beyond (a name an authentication
 * module set) its UTF-8 bytes are escaped.
 */
export function escapeField(s: string, quoted: boolean): string {
  let i = 0;
  while (i < s.length && !unsafe(s.charCodeAt(i), quoted)) i++;
  if (i === s.length) return s;
  let out = s.slice(0, i);
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!unsafe(c, quoted)) out += s[i];
    else if (c >= 0x20 && c < 0x7f) out += quoted ? '\\' + s[i] : hex(c);
    else if (c <= 0xff) out += hex(c);
    else {
      const cp = s.codePointAt(i)!;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) out += hex(b);
      if (cp > 0xffff) i++;
    }
  }
  return out;
}

// --- Common Log Format and combined ---------------------------------------------

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => (n < 10 ? '0' + n : String(n));
let dateSecond = NaN;
let dateText = '';

/** `10/Oct/2000:13:55:36 -0700`, local time; one formatting a second. */
export function clfDate(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second === dateSecond) return dateText;
  const d = new Date(ms);
  const offset = -d.getTimezoneOffset();
  const abs = Math.abs(offset);
  dateText = `${pad(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} `
    + `${offset < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
  dateSecond = second;
  return dateText;
}

function quotedOrDash(s: string | null): string {
  return s === null ? '"-"' : `"${escapeField(s, true)}"`;
}

function commonFields(e: LogEntry): string {
  const line = e.method === null ? '-' : `${e.method} ${e.target} ${e.version}`;
  return `${e.remote === '' ? '-' : escapeField(e.remote, false)} - ${e.user === null || e.user === '' ? '-' : escapeField(e.user, false)} `
    + `[${clfDate(e.time)}] "${escapeField(line, true)}" ${e.status} ${e.bytes > 0 ? e.bytes : '-'}`;
}

/** `host ident authuser [date] "request line" status bytes` (CERN httpd, NCSA). */
export function formatCommon(e: LogEntry): string {
  return commonFields(e) + '\n';
}

/** The common format, then `"referer" "user-agent"` (NCSA combined). */
export function formatCombined(e: LogEntry): string {
  return `${commonFields(e)} ${quotedOrDash(e.referer)} ${quotedOrDash(e.userAgent)}\n`;
}

// --- JSON ------------------------------------------------------------------------

/**
 * One object a line. JSON escapes its own way: JSON.stringify escapes the
 * control characters, and every character from DEL up is written \uHHHH,
 * so the line is ASCII, still valid JSON, and gives back the exact value.
 */
export function formatJson(e: LogEntry): string {
  const text = JSON.stringify({
    time: new Date(e.time).toISOString(),
    remote: e.remote === '' ? null : e.remote,
    user: e.user,
    method: e.method,
    target: e.target,
    version: e.version,
    status: e.status,
    bytes: e.bytes,
    referer: e.referer,
    user_agent: e.userAgent,
    duration_ms: e.durationMs,
    complete: e.complete,
  });
  return text.replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')) + '\n';
}

export const FORMATTERS: Readonly<Record<LogFormat, (e: LogEntry) => string>> = Object.freeze({
  common: formatCommon,
  combined: formatCombined,
  json: formatJson,
});

// --- the terminal ----------------------------------------------------------------

const COLOR: Record<number, string> = { 2: '32', 3: '36', 4: '33', 5: '31' };

/** `GET /path 200 3ms`: for a person watching a terminal; colours unless `color` is false. */
export function formatTerminal(e: LogEntry, color: boolean): string {
  const method = e.method === null ? '-' : escapeField(e.method, false);
  const target = e.target === null ? '-' : escapeField(e.target, false);
  const time = e.durationMs === null ? '-' : `${e.durationMs}ms`;
  const status = e.complete ? String(e.status) : `${e.status} cut short`;
  if (!color) return `${method} ${target} ${status} ${time}\n`;
  const c = COLOR[Math.floor(e.status / 100)] ?? '0';
  return `\x1b[1m${method}\x1b[0m ${target} \x1b[${c}m${status}\x1b[0m \x1b[2m${time}\x1b[0m\n`;
}

/** NO_COLOR (no-color.org): set and not empty turns colours off. */
export function useColor(env: NodeJS.ProcessEnv): boolean {
  return env.NO_COLOR === undefined || env.NO_COLOR === '';
}

// --- the log -----------------------------------------------------------------------

/** Where the lines of a server go: formats each reply written and hands it to a sink. */
export class AccessLog {
  readonly sink: LogSink;
  readonly format: LogFormat | 'terminal';
  readonly #formatter: (e: LogEntry) => string;
  readonly #clock: () => number;

  constructor(sink: LogSink, format: LogFormat | 'terminal', color = false, clock: () => number = Date.now) {
    this.sink = sink;
    this.format = format;
    this.#formatter = format === 'terminal' ? (e) => formatTerminal(e, color) : FORMATTERS[format];
    this.#clock = clock;
  }

  /** A WireEvents.onReply. */
  onReply(request: Request | null, reply: Reply, bytes: number, peer?: string): void {
    this.sink.write(this.#formatter(logEntry(request, reply, bytes, this.#clock(), peer)));
  }

  /** A WireEvents.onCut. */
  onCut(request: Request | null, reply: Reply, bytes: number): void {
    this.sink.write(this.#formatter(logEntry(request, reply, bytes, this.#clock(), '', false)));
  }
}

export interface AccessLogSettings {
  /** An absolute file name, or `-` for stdout. */
  accessLog?: string;
  logFormat?: LogFormat;
}

export interface Terminal {
  /** stdout is a terminal. */
  isTTY: boolean;
  color: boolean;
}

/**
 * The log the settings ask for: the AccessLog file in its LogFormat;
 * without one, the terminal line when stdout is a terminal; else none.
 * Opening the file may throw (its directory missing, no permission).
 */
export function openAccessLog(settings: AccessLogSettings, terminal: Terminal, options: LogSinkOptions = {}): AccessLog | null {
  if (settings.accessLog !== undefined) return new AccessLog(LogSink.open(settings.accessLog, options), settings.logFormat ?? 'common');
  if (!terminal.isTTY) return null;
  return new AccessLog(LogSink.open('-', options), 'terminal', terminal.color);
}
