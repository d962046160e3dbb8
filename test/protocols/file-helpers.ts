// Shared fixtures of the FILE module tests: a document root with the hard
// names (test/helpers/cli.ts makeRoot) and a few more made at setup (big
// files are generated, never committed), servers built in-process from rule
// text, and an fs/promises wrapper that counts or fails calls.

import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { Server, type ServerOptions } from '../../src/server.js';
import { parseRules } from '../../src/rules/index.js';
import type { FileSystem } from '../../protocols/file.js';
import { makeRoot } from '../helpers/cli.js';
import { exchange, type RawResponse } from '../helpers/wire.js';

export const APP_JS = 'function hello() {\n  return "hello, world";\n}\n'.repeat(200);

/** makeRoot plus: a site with a Welcome file, listable directories, sidecars, a big file, .well-known. */
export function fileRoot(): { root: string; outside: string; big: Buffer; cleanup(): void } {
  const made = makeRoot();
  const { root } = made;
  const w = (rel: string, data: string | Buffer) => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), data);
  };
  w('site/index.html', '<h1>welcome</h1>\n');
  w('site/other.html', '<h1>other</h1>\n');
  w('list/a.txt', 'a\n');
  w('list/b.txt', 'bb\n');
  w('list/.secret', 'dot\n');
  w('list/sub/c.txt', 'c\n');
  fs.symlinkSync(path.join(made.outside, 'secret.txt'), path.join(root, 'list', 'out.txt'));
  w('browsable/.www_browsable', '');
  w('browsable/x.txt', 'x\n');
  w('.well-known/security.txt', 'Contact: mailto:sec@example.org\n');
  w('.hidden-dir/inner.txt', 'inner\n');
  w('app.js', APP_JS);
  w('app.js.br', brotliCompressSync(APP_JS));
  w('app.js.gz', gzipSync(APP_JS));
  w('up/keep.txt', 'keep\n');
  w('empty.txt', '');
  w('long.txt', 'a line of text to compress\n'.repeat(200));
  const big = randomBytes(1024 * 1024 + 7);
  w('big.bin', big);
  // Sidecars at least as new as their document.
  const later = new Date(Date.now() + 2000);
  fs.utimesSync(path.join(root, 'app.js.br'), later, later);
  fs.utimesSync(path.join(root, 'app.js.gz'), later, later);
  return { ...made, big };
}

export interface Running {
  server: Server;
  port: number;
}

const running: Server[] = [];

export async function startServer(root: string, rules = 'Pass /*', options: ServerOptions = {}): Promise<Running> {
  const server = new Server(parseRules(rules, '/virtual/test.rules', { serverRoot: root }), options);
  const { port } = await server.listen(0, '127.0.0.1');
  running.push(server);
  return { server, port };
}

export async function stopServers(): Promise<void> {
  await Promise.all(running.splice(0).map((s) => s.close(100)));
}

/** One request, one response. */
export async function fetchRaw(port: number, request: string | Buffer | (string | Buffer)[], head = false): Promise<RawResponse> {
  const r = await exchange(port, request, { responses: 1, heads: head ? [0] : [], timeout: 5000 });
  const res = r.responses[0];
  if (res === undefined) throw new Error(`no response; got ${JSON.stringify(r.raw.toString('latin1').slice(0, 200))}`);
  return res;
}

/** A GET (or another method) with extra header lines. */
export function req(method: string, target: string, headers: Record<string, string> = {}, body?: string | Buffer): (string | Buffer)[] {
  let head = `${method} ${target} HTTP/1.1\r\nHost: test\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  if (body !== undefined) head += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
  head += '\r\n';
  return body === undefined ? [head] : [Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body)])];
}

export async function GET(port: number, target: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return fetchRaw(port, req('GET', target, headers));
}

type FsCall = 'open' | 'stat' | 'lstat' | 'realpath' | 'opendir' | 'rename' | 'link' | 'unlink';

/**
 * node:fs/promises with every call counted by name, and hooks that may fail
 * a call (`fail.open = (file) => error | undefined`), hold one back until a
 * promise settles (`hold.stat = (file) => promise | undefined`), or fail a
 * FileHandle's write/sync after some bytes.
 */
export class CountingFs {
  readonly calls = new Map<string, number>();
  /** `name path` of every call, in order. */
  readonly log: string[] = [];
  fail: Partial<Record<FsCall, (p: string) => Error | undefined>> = {};
  hold: Partial<Record<FsCall, (p: string) => Promise<unknown> | undefined>> = {};
  /** Makes a written handle fail: write after `afterBytes`, or sync. */
  failWrite: { code: string; afterBytes: number; on: 'write' | 'sync' } | null = null;
  readonly fs: FileSystem;

  constructor() {
    const self = this;
    const wrap = <K extends keyof FileSystem>(name: K): FileSystem[K] => ((async (...args: unknown[]) => {
      self.count(name);
      self.log.push(`${name} ${String(args[0])}`);
      const wait = self.hold[name]?.(String(args[0]));
      if (wait !== undefined) await wait;
      const err = self.fail[name]?.(String(args[0]));
      if (err) throw err;
      const result = await (fsp[name] as (...a: unknown[]) => Promise<unknown>)(...args);
      if (name === 'open' && /w/.test(String(args[1] ?? ''))) return self.#wrapHandle(result as fsp.FileHandle);
      return result;
    }) as unknown as FileSystem[K]);
    this.fs = {
      open: wrap('open'), stat: wrap('stat'), lstat: wrap('lstat'), realpath: wrap('realpath'), opendir: wrap('opendir'),
      rename: wrap('rename'), link: wrap('link'), unlink: wrap('unlink'),
    };
  }

  count(name: string): void {
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
  }

  get total(): number {
    let n = 0;
    for (const v of this.calls.values()) n += v;
    return n;
  }

  reset(): void {
    this.calls.clear();
    this.log.length = 0;
  }

  /** Bytes written through every handle so far. */
  written = 0;

  #wrapHandle(handle: fsp.FileHandle): fsp.FileHandle {
    const self = this;
    return new Proxy(handle, {
      get(target, prop, receiver) {
        const f = self.failWrite;
        if (prop === 'write' && f?.on === 'write') {
          return async (buf: Buffer, off = 0, len = buf.length - off) => {
            if (self.written + len > f.afterBytes) throw Object.assign(new Error(`${f.code}: injected`), { code: f.code });
            self.written += len;
            return target.write(buf, off, len);
          };
        }
        if (prop === 'sync' && f?.on === 'sync') {
          return async () => {
            throw Object.assign(new Error(`${f.code}: injected`), { code: f.code });
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }
}

export function osError(code: string): Error {
  return Object.assign(new Error(`${code}: injected`), { code });
}

/** Files whose names look like our temporary files, anywhere below `dir`. */
export function temporaries(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { recursive: true }) as string[]) if (/\.tmp-[0-9a-f]+$/.test(entry)) out.push(entry);
  return out;
}

/** Waits until `check()` is true, or throws after `ms`. */
export async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}
