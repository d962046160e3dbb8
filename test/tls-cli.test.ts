// TLS through the command line: the certificate and key from flags or the
// rule file, one-line errors with exit 1 for files that cannot be used,
// --tls-self-signed, SIGHUP renewal, and RedirectHTTP.

import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli, startCli, makeRoot } from './helpers/cli.js';
import { exchange, get, sleep } from './helpers/wire.js';
import { makePair, tlsExchange, writePair } from './helpers/tls.js';
import type { Pair } from './helpers/tls.js';

let fixture: ReturnType<typeof makeRoot>;
let a: Pair;
let b: Pair;
let files: ReturnType<typeof writePair>;

beforeAll(async () => {
  fixture = makeRoot();
  [a, b] = await Promise.all([makePair(), makePair()]);
  files = writePair(a);
});
afterAll(() => {
  fixture?.cleanup();
  fs.rmSync(files.dir, { recursive: true, force: true });
});

/** Waits until `read()` matches `re`. */
async function until(read: () => string, re: RegExp, timeout = 5000): Promise<void> {
  for (const start = Date.now(); !re.test(read()) && Date.now() - start < timeout;) await sleep(20);
  expect(read()).toMatch(re);
}

describe('--tls-cert and --tls-key', () => {
  it('serve https and print an https URL', async () => {
    const s = await startCli([fixture.root, '--port', '0', '--tls-cert', files.cert, '--tls-key', files.key]);
    try {
      expect(s.stdout()).toMatch(new RegExp(`at https://127\\.0\\.0\\.1:${s.port}/`));
      const r = await tlsExchange(s.port, a.cert, get('/hello.txt'), { responses: 1 });
      expect(r.alpn).toBe('http/1.1');
      expect(r.responses[0]!.body.toString()).toBe('Hello, world\n');
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });

  it('a missing key file is one line naming it, and exit 1', async () => {
    const missing = path.join(files.dir, 'nope.key');
    const r = await runCli([fixture.root, '--port', '0', '--tls-cert', files.cert, '--tls-key', missing]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(missing);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a key that does not match the certificate is one line naming it, and exit 1', async () => {
    const other = writePair(b);
    try {
      const r = await runCli([fixture.root, '--port', '0', '--tls-cert', files.cert, '--tls-key', other.key]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`the TLS key ${other.key} does not match the certificate ${files.cert}`);
    } finally {
      fs.rmSync(other.dir, { recursive: true, force: true });
    }
  });

  it('a certificate without a key is a command-line error (exit 2)', async () => {
    const r = await runCli([fixture.root, '--port', '0', '--tls-cert', files.cert]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('streamstack: a TLS certificate needs a key (--tls-key or TLSKey) (see --help)');
  });
});

describe('--tls-self-signed', () => {
  it('says so, prints an https URL and serves', async () => {
    const s = await startCli([fixture.root, '--port', '0', '--tls-self-signed']);
    try {
      expect(s.stdout()).toContain('self-signed certificate for localhost and 127.0.0.1');
      expect(s.stdout()).toMatch(new RegExp(`at https://127\\.0\\.0\\.1:${s.port}/`));
      const r = await tlsExchange(s.port, null, get('/hello.txt'), { responses: 1 });
      expect(r.responses[0]!.body.toString()).toBe('Hello, world\n');
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });
});

describe('SIGHUP renewal', () => {
  it('switches to the new certificate, and keeps it when the next pair is bad', async () => {
    const renewing = writePair(a);
    const s = await startCli([fixture.root, '--port', '0', '--tls-cert', renewing.cert, '--tls-key', renewing.key]);
    try {
      const before = await tlsExchange(s.port, a.cert, get('/hello.txt'), { responses: 1 });
      writePair(b, renewing.dir);
      s.proc.kill('SIGHUP');
      await until(s.stdout, /certificate reloaded from /);
      const after = await tlsExchange(s.port, b.cert, get('/hello.txt'), { responses: 1 });
      expect(after.responses[0]!.status).toBe(200);
      expect(after.fingerprint).not.toBe(before.fingerprint);

      // A key that does not match: one line, and the certificate in force stays.
      fs.writeFileSync(renewing.key, a.key);
      s.proc.kill('SIGHUP');
      await until(s.stderr, /the old certificate is kept/);
      expect(s.stderr().trim().split('\n')).toHaveLength(1);
      expect(s.stderr()).toContain(renewing.key);
      const kept = await tlsExchange(s.port, b.cert, get('/hello.txt'), { responses: 1 });
      expect(kept.fingerprint).toBe(after.fingerprint);
    } finally {
      expect(await s.stop()).toBe(0);
      fs.rmSync(renewing.dir, { recursive: true, force: true });
    }
  });
});

describe('TLSCertificate, TLSKey and RedirectHTTP', () => {
  it('the rule file names the pair (relative to itself), and the plain port answers 308 to https', async () => {
    const rules = path.join(files.dir, 'site.rules');
    fs.writeFileSync(rules, `TLSCertificate cert.pem\nTLSKey key.pem\nRedirectHTTP 0\nPass /* ${fixture.root}/*\n`);
    const s = await startCli(['--rules', rules, '--port', '0']);
    try {
      const m = /redirecting http:\/\/127\.0\.0\.1:(\d+)\/ to https/.exec(s.stdout());
      expect(m).not.toBeNull();
      const plain = Number(m![1]);
      const r = await exchange(plain, 'GET /a/b%20c?x=1&y=2 HTTP/1.1\r\nHost: example.test:8080\r\n\r\n', { responses: 1 });
      expect(r.responses[0]!.status).toBe(308);
      expect(r.responses[0]!.headers.location).toBe(`https://example.test:${s.port}/a/b%20c?x=1&y=2`);
      const v6 = await exchange(plain, 'GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n', { responses: 1 });
      expect(v6.responses[0]!.headers.location).toBe(`https://[::1]:${s.port}/`);
      const secure = await tlsExchange(s.port, a.cert, get('/hello.txt'), { responses: 1 });
      expect(secure.responses[0]!.body.toString()).toBe('Hello, world\n');
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });

  it('RedirectHTTP without TLS is a configuration error (exit 2)', async () => {
    const rules = path.join(files.dir, 'plain.rules');
    fs.writeFileSync(rules, `RedirectHTTP 0\nPass /* ${fixture.root}/*\n`);
    const r = await runCli(['--rules', rules, '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/RedirectHTTP needs TLS/);
  });
});
