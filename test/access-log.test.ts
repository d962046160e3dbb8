// The access log: each format field by field from real requests over a raw
// socket, a parse error's 400, what a client may try to slip into a line,
// the terminal line, and the sink's bound and reopening.

import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Server } from '../src/server.js';
import { parseRules } from '../src/rules/index.js';
import {
  escapeField, formatCommon, formatTerminal, logEntry, openAccessLog, useColor,
} from '../src/access-log.js';
import type { AccessLog, LogEntry, LogFormat } from '../src/access-log.js';
import { LogSink } from '../src/log-sink.js';
import { makeRoot } from './helpers/cli.js';
import { exchange } from './helpers/wire.js';
import type { RawResponse } from './helpers/wire.js';

let fixture: ReturnType<typeof makeRoot>;
let dir: string;
const servers: Server[] = [];
beforeAll(() => {
  fixture = makeRoot();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamstack-log-'));
});
afterAll(() => {
  fixture.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const s of servers) expect(s.http.check()).toEqual([]);
  await Promise.all(servers.splice(0).map((s) => s.close(100)));
});

let files = 0;

/** Sends `request` (one or more, in one write) to a server logging in `format`; the responses and the log's lines. */
async function logged(format: LogFormat, request: string | Buffer, responses = 1, heads: number[] = []): Promise<{ lines: string[]; raw: Buffer; responses: RawResponse[] }> {
  const file = path.join(dir, `access-${++files}.log`);
  const log = openAccessLog({ accessLog: file, logFormat: format }, { isTTY: false, color: false }) as AccessLog;
  const server = new Server(parseRules('Pass /*', '/virtual/test.rules', { serverRoot: fixture.root }), {
    events: { onReply: (rq, rp, b, peer) => log.onReply(rq, rp, b, peer) },
  });
  servers.push(server);
  const { port } = await server.listen(0, '127.0.0.1');
  const r = await exchange(port, request, { responses, heads, timeout: 3000 });
  await log.sink.close();
  const raw = fs.readFileSync(file);
  return { lines: raw.toString('latin1').split('\n').slice(0, -1), raw, responses: r.responses };
}

const CLF = /^(\S+) (\S+) (\S+) \[([^\]]+)\] "((?:[^"\\]|\\.)*)" (\d{3}) (\S+)(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?$/;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `04/Dec/2026:17:16:58 +0000` → ms since the epoch. */
function clfTime(text: string): number {
  const m = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(text);
  if (m === null) throw new Error(`not a CLF date: ${text}`);
  const utc = Date.UTC(Number(m[3]), MONTHS.indexOf(m[2]!), Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  const offset = (Number(m[8]) * 60 + Number(m[9])) * 60_000 * (m[7] === '-' ? -1 : 1);
  return utc - offset;
}

function fields(line: string): string[] {
  const m = CLF.exec(line);
  if (m === null) throw new Error(`not a log line: ${JSON.stringify(line)}`);
  return m.slice(1);
}

describe('the formats, from real requests', () => {
  it('common: host ident authuser [date] "request line" status bytes', async () => {
    const before = Date.now();
    const { lines, responses } = await logged('common', 'GET /hello.txt HTTP/1.1\r\nHost: a\r\nUser-Agent: curl/8\r\n\r\n');
    expect(responses[0]!.status).toBe(200);
    expect(lines).toHaveLength(1);
    const [host, ident, user, date, requestLine, status, bytes, referer, agent] = fields(lines[0]!);
    expect(host).toBe('127.0.0.1');
    expect(ident).toBe('-');
    expect(user).toBe('-');
    expect(clfTime(date!)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(clfTime(date!)).toBeLessThanOrEqual(Date.now());
    expect(requestLine).toBe('GET /hello.txt HTTP/1.1');
    expect(status).toBe('200');
    expect(bytes).toBe('13'); // 'Hello, world\n', the body only
    expect(referer).toBeUndefined();
    expect(agent).toBeUndefined();
  });

  it('common: no body is "-" (HEAD), an error counts its body', async () => {
    const { lines } = await logged('common',
      'HEAD /hello.txt HTTP/1.1\r\nHost: a\r\n\r\nGET /nope.txt HTTP/1.0\r\nHost: a\r\n\r\n', 2, [0]);
    const [head, missing] = lines.map(fields);
    expect([head![4], head![5], head![6]]).toEqual(['HEAD /hello.txt HTTP/1.1', '200', '-']);
    expect([missing![4], missing![5]]).toEqual(['GET /nope.txt HTTP/1.0', '404']);
    expect(Number(missing![6])).toBeGreaterThan(0);
  });

  it('combined: the common fields, then "referer" "user-agent", "-" when absent', async () => {
    const { lines } = await logged('combined',
      'GET /hello.txt HTTP/1.1\r\nHost: a\r\nReferer: https://example.org/page\r\nUser-Agent: Mozilla/5.0 (X11)\r\n\r\n'
      + 'GET /page.html HTTP/1.1\r\nHost: a\r\n\r\n', 2);
    const [first, second] = lines.map(fields);
    expect(first!.slice(0, 3)).toEqual(['127.0.0.1', '-', '-']);
    expect(first!.slice(4)).toEqual(['GET /hello.txt HTTP/1.1', '200', '13', 'https://example.org/page', 'Mozilla/5.0 (X11)']);
    expect(second!.slice(4)).toEqual(['GET /page.html HTTP/1.1', '200', '10', '-', '-']);
  });

  it('json: one object a line with named fields', async () => {
    const before = Date.now();
    const { lines } = await logged('json', 'GET /hello.txt?x=1 HTTP/1.1\r\nHost: a\r\nReferer: /from\r\nUser-Agent: test/1\r\n\r\n');
    expect(lines).toHaveLength(1);
    const o = JSON.parse(lines[0]!);
    expect(Object.keys(o)).toEqual(['time', 'remote', 'user', 'method', 'target', 'version', 'status', 'bytes', 'referer', 'user_agent', 'duration_ms', 'complete']);
    expect(o.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(Date.parse(o.time)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(o.time)).toBeLessThanOrEqual(Date.now());
    expect(o).toMatchObject({
      remote: '127.0.0.1', user: null, method: 'GET', target: '/hello.txt?x=1', version: 'HTTP/1.1',
      status: 200, bytes: 13, referer: '/from', user_agent: 'test/1', complete: true,
    });
    expect(o.duration_ms).toBeGreaterThanOrEqual(0);
    expect(o.duration_ms).toBeLessThan(3000);
  });

  it('a head that cannot be parsed: its 400 is logged with "-" for the request', async () => {
    const common = await logged('common', 'GET / HTTP/1.1\r\nHost: a\r\nNo colon here\r\n\r\n');
    expect(common.responses[0]!.status).toBe(400);
    const f = fields(common.lines[0]!);
    expect(f.slice(0, 3)).toEqual(['127.0.0.1', '-', '-']);
    expect(f[4]).toBe('-');
    expect(f[5]).toBe('400');
    expect(Number(f[6])).toBe(common.responses[0]!.body.length);
    const json = await logged('json', 'GET / HTTP/1.1\r\nHost: a\r\nNo colon here\r\n\r\n');
    expect(JSON.parse(json.lines[0]!)).toMatchObject({ remote: '127.0.0.1', method: null, target: null, status: 400, user_agent: null, duration_ms: null });
  });
});

describe('what a client sends cannot forge a line or reach a terminal', () => {
  // latin1: one byte a character, as the wire carries them (obs-text, RFC 9110 §5.5).
  const hostile = 'a "quoted" \\back é\xff\x9b[31m';
  const escaped = 'a \\"quoted\\" \\\\back \\xe9\\xff\\x9b[31m';

  it('quotes, backslashes and non-ASCII bytes in the target, referer and user agent are escaped', async () => {
    const request = Buffer.from(`GET /hello.txt?q="x"\\y HTTP/1.1\r\nHost: a\r\nReferer: ${hostile}\r\nUser-Agent: ${hostile}\r\n\r\n`, 'latin1');
    const { lines, raw, responses } = await logged('combined', request);
    expect(responses[0]!.status).toBe(200);
    expect(lines).toHaveLength(1);
    expect(raw.every((b) => (b >= 0x20 && b < 0x7f) || b === 0x0a)).toBe(true);
    const f = fields(lines[0]!);
    expect(f[4]).toBe('GET /hello.txt?q=\\"x\\"\\\\y HTTP/1.1');
    expect(f[7]).toBe(escaped);
    expect(f[8]).toBe(escaped);
  });

  it('in JSON, the same values come back exact from a line of ASCII', async () => {
    const request = Buffer.from(`GET /hello.txt?q="x"\\y HTTP/1.1\r\nHost: a\r\nReferer: ${hostile}\r\nUser-Agent: ${hostile}\r\n\r\n`, 'latin1');
    const { lines, raw } = await logged('json', request);
    expect(lines).toHaveLength(1);
    expect(raw.every((b) => (b >= 0x20 && b < 0x7f) || b === 0x0a)).toBe(true);
    const o = JSON.parse(lines[0]!);
    expect([o.target, o.referer, o.user_agent]).toEqual(['/hello.txt?q="x"\\y', hostile, hostile]);
  });

  it.each([
    ['CR LF in a field value', 'GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: x\rFAKE 200\r\n\r\n'],
    ['ESC in the user agent', 'GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: \x1b[2J\x1b]0;owned\x07\r\n\r\n'],
    ['non-ASCII in the target', 'GET /caf\xe9\x1b[31m HTTP/1.1\r\nHost: a\r\n\r\n'],
  ])('%s: refused by the parser, logged as one "-" line', async (_, text) => {
    const { lines, raw, responses } = await logged('combined', Buffer.from(text, 'latin1'));
    expect(responses[0]!.status).toBe(400);
    expect(lines).toHaveLength(1);
    expect(fields(lines[0]!).slice(4)).toEqual(['-', '400', String(responses[0]!.body.length), '-', '-']);
    expect(raw.every((b) => (b >= 0x20 && b < 0x7f) || b === 0x0a)).toBe(true);
  });

  it('escapeField: controls, DEL and non-ASCII as \\xHH; " and \\ in quotes; a space outside them', () => {
    expect(escapeField('plain /path?q=1', true)).toBe('plain /path?q=1');
    expect(escapeField('a\r\nb\x1b[31m\x7f\x00', true)).toBe('a\\x0d\\x0ab\\x1b[31m\\x7f\\x00');
    expect(escapeField('say "hi" \\o/', true)).toBe('say \\"hi\\" \\\\o/');
    expect(escapeField('é\u0085', true)).toBe('\\xe9\\x85');
    expect(escapeField('snow ☃ 😀', true)).toBe('snow \\xe2\\x98\\x83 \\xf0\\x9f\\x98\\x80');
    expect(escapeField('jo smith\n', false)).toBe('jo\\x20smith\\x0a');
  });

  it('a user set by an authentication module is the authuser field, escaped', () => {
    const entry: LogEntry = {
      time: Date.UTC(2026, 11, 4, 17, 16, 58), remote: '::1', user: 'mallory\n::1 - admin', method: 'GET', target: '/', version: 'HTTP/1.1',
      status: 200, bytes: 0, referer: null, userAgent: null, durationMs: 1, complete: true,
    };
    const line = formatCommon(entry);
    expect(line.split('\n')).toHaveLength(2);
    expect(fields(line.slice(0, -1)).slice(0, 3)).toEqual(['::1', '-', 'mallory\\x0a::1\\x20-\\x20admin']);
  });
});

describe('the terminal line', () => {
  const entry = (status: number, target = '/a/b?c'): LogEntry => ({
    time: 0, remote: '127.0.0.1', user: null, method: 'GET', target, version: 'HTTP/1.1',
    status, bytes: 5, referer: null, userAgent: null, durationMs: 12, complete: true,
  });

  it('without colour: method, path, status, time', () => {
    expect(formatTerminal(entry(200), false)).toBe('GET /a/b?c 200 12ms\n');
    expect(formatTerminal({ ...entry(400), method: null, target: null, durationMs: null }, false)).toBe('- - 400 -\n');
    expect(formatTerminal({ ...entry(200), complete: false }, false)).toBe('GET /a/b?c 200 cut short 12ms\n');
  });

  it('with colour: the status coloured by class', () => {
    expect(formatTerminal(entry(200), true)).toBe('\x1b[1mGET\x1b[0m /a/b?c \x1b[32m200\x1b[0m \x1b[2m12ms\x1b[0m\n');
    expect(formatTerminal(entry(304), true)).toContain('\x1b[36m304');
    expect(formatTerminal(entry(404), true)).toContain('\x1b[33m404');
    expect(formatTerminal(entry(502), true)).toContain('\x1b[31m502');
  });

  it('escapes the path, so only its own colours reach the terminal', () => {
    expect(formatTerminal(entry(200, '/\x1b[2J'), false)).toBe('GET /\\x1b[2J 200 12ms\n');
  });

  it('NO_COLOR set and not empty turns colours off', () => {
    expect(useColor({})).toBe(true);
    expect(useColor({ NO_COLOR: '' })).toBe(true);
    expect(useColor({ NO_COLOR: '1' })).toBe(false);
  });

  it('no AccessLog: a line on a terminal, nothing otherwise', () => {
    expect(openAccessLog({}, { isTTY: false, color: true })).toBeNull();
    expect(openAccessLog({}, { isTTY: true, color: true })?.format).toBe('terminal');
  });

  it('a parse error\'s entry has no request', () => {
    const e = logEntry(null, { status: 400, headers: {}, format: null, length: 3, body: null }, 3, 1000, '10.0.0.1');
    expect(e).toMatchObject({ remote: '10.0.0.1', method: null, target: null, status: 400, bytes: 3, durationMs: null });
  });
});

describe('the sink', () => {
  it('drops and counts lines beyond its bound instead of holding them', async () => {
    const file = path.join(dir, 'bounded.log');
    const dropped: number[] = [];
    const sink = LogSink.open(file, { maxQueued: 100, onDropped: (n) => dropped.push(n) });
    for (let i = 0; i < 10; i++) sink.write(`line ${i} `.padEnd(29, '.') + '\n');
    expect(sink.queued).toBe(90);
    expect(sink.dropped).toBe(7);
    await sink.close();
    expect(fs.readFileSync(file, 'utf8').split('\n').slice(0, -1).map((l) => l.split(' ')[1])).toEqual(['0', '1', '2']);
    expect(dropped).toEqual([7]);
  });

  it('reopen: what follows goes to a new file under the name, the renamed one keeps what was written', async () => {
    const file = path.join(dir, 'rotated.log');
    const sink = LogSink.open(file);
    sink.write('first\n');
    await new Promise((r) => setTimeout(r, 50));
    fs.renameSync(file, file + '.1');
    sink.write('second\n');
    sink.reopen();
    sink.write('third\n');
    await sink.close();
    expect(fs.readFileSync(file + '.1', 'utf8')).toBe('first\n');
    expect(fs.readFileSync(file, 'utf8')).toBe('second\nthird\n');
  });

  it('a file that cannot be opened throws at open, and a failed reopen keeps the old file', async () => {
    expect(() => LogSink.open(path.join(dir, 'missing', 'x.log'))).toThrow(/ENOENT/);
    const sub = path.join(dir, 'sub');
    fs.mkdirSync(sub);
    const errors: string[] = [];
    const sink = LogSink.open(path.join(sub, 'a.log'), { onError: (e) => errors.push(e.message) });
    fs.renameSync(sub, sub + '-gone');
    sink.reopen();
    sink.write('kept\n');
    await sink.close();
    expect(errors.join()).toMatch(/ENOENT/);
    expect(fs.readFileSync(path.join(sub + '-gone', 'a.log'), 'utf8')).toBe('kept\n');
  });
});

describe('the directives', () => {
  it('AccessLog resolves against ServerRoot, `-` stays stdout; LogFormat and GraceTimeout are checked', () => {
    const rules = parseRules('AccessLog logs/access.log\nLogFormat JSON\nGraceTimeout 2.5s\n', '/virtual/a.rules', { serverRoot: '/srv/site' });
    expect(rules.settings).toMatchObject({ accessLog: '/srv/site/logs/access.log', logFormat: 'json', graceTimeout: 2500 });
    expect(parseRules('AccessLog -\n', '/virtual/a.rules').settings.accessLog).toBe('-');
    expect(() => parseRules('LogFormat apache\n', '/virtual/a.rules')).toThrow(/a\.rules:1: LogFormat: expected common, combined or json, got "apache"/);
    expect(() => parseRules('GraceTimeout soon\n', '/virtual/a.rules')).toThrow(/GraceTimeout: expected a duration/);
  });
});
