// Protect over raw sockets: Basic credentials against per-method masks
// (users, groups, All), 401 and 403, the challenge, malformed Authorization
// fields, the cache of verified credentials, a changed password file, the
// limit on failures per address, and that credentials never leak.

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fetchRaw, req, startServer, stopServers } from '../protocols/file-helpers.js';
import { exchange } from '../helpers/wire.js';
import { Clock, PASSWORDS, auth, basic, countingCompare, makeSite, passwordLines, siteRules, startProtected, stopAll, type Site } from './fixtures.js';

let site: Site;
beforeAll(() => {
  site = makeSite();
});
afterAll(() => site.cleanup());
afterEach(stopAll);

const CHALLENGE = 'Basic realm="Reading \\"room\\"", charset="UTF-8"';

describe('masks', () => {
  it('GetMask: users and groups read, others get 403, no credentials 401 with the challenge', async () => {
    const { port } = await startProtected(site, siteRules(site));
    const none = await fetchRaw(port, req('GET', '/guarded/doc.txt'));
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe(CHALLENGE);
    expect(none.body.toString()).toBe('401 Unauthorized: Authentication required\n');
    const alice = await fetchRaw(port, req('GET', '/guarded/doc.txt', auth('alice')));
    expect([alice.status, alice.body.toString()]).toEqual([200, 'guarded document\n']);
    // bob and zoë are in the readers group; zoë's name and password are UTF-8, her password holds a colon.
    expect((await fetchRaw(port, req('GET', '/guarded/doc.txt', auth('bob')))).status).toBe(200);
    expect((await fetchRaw(port, req('GET', '/guarded/doc.txt', auth('zoë')))).status).toBe(200);
    const carol = await fetchRaw(port, req('GET', '/guarded/doc.txt', auth('carol')));
    expect(carol.status).toBe(403);
    expect(carol.headers['www-authenticate']).toBeUndefined();
  });

  it('HEAD follows GetMask', async () => {
    const { port } = await startProtected(site, siteRules(site));
    expect((await fetchRaw(port, req('HEAD', '/guarded/doc.txt'), true)).status).toBe(401);
    expect((await fetchRaw(port, req('HEAD', '/guarded/doc.txt', auth('carol')), true)).status).toBe(403);
    const ok = await fetchRaw(port, req('HEAD', '/guarded/doc.txt', auth('alice')), true);
    expect([ok.status, ok.headers['content-length']]).toEqual([200, '17']);
  });

  it('PutMask by group, DeleteMask All, and a method without a mask is open', async () => {
    const { port } = await startProtected(site, siteRules(site));
    expect((await fetchRaw(port, req('PUT', '/guarded/new.txt', {}, 'x'))).status).toBe(401);
    expect((await fetchRaw(port, req('PUT', '/guarded/new.txt', auth('alice'), 'x'))).status).toBe(403);
    expect((await fetchRaw(port, req('PUT', '/guarded/new.txt', auth('bob'), 'by bob'))).status).toBe(201);
    expect(fs.readFileSync(path.join(site.root, 'guarded', 'new.txt'), 'utf8')).toBe('by bob');
    expect((await fetchRaw(port, req('DELETE', '/guarded/new.txt'))).status).toBe(401);
    expect((await fetchRaw(port, req('DELETE', '/guarded/new.txt', auth('carol')))).status).toBe(204);
    // No PostMask: the FILE module answers, whatever it says, without asking for credentials.
    const post = await fetchRaw(port, req('POST', '/guarded/', { 'Content-Type': 'text/plain' }, 'x'));
    expect(post.status).not.toBe(401);
    // OPTIONS is never guarded: a CORS preflight carries no credentials.
    expect((await fetchRaw(port, req('OPTIONS', '/guarded/doc.txt'))).status).toBe(204);
  });

  it('a setup with only PutMask guards uploads while reading stays open', async () => {
    const { port } = await startProtected(site, siteRules(site));
    const get = await fetchRaw(port, req('GET', '/uploads/doc.txt'));
    expect([get.status, get.body.toString()]).toEqual([200, 'upload area\n']);
    expect((await fetchRaw(port, req('PUT', '/uploads/a.txt', {}, 'x'))).status).toBe(401);
    expect((await fetchRaw(port, req('PUT', '/uploads/a.txt', auth('carol'), 'x'))).status).toBe(201);
    expect((await fetchRaw(port, req('GET', '/open/doc.txt'))).status).toBe(200);
  });

  it('refuses before reading a body: no 100 Continue for an unauthenticated upload', async () => {
    const { port } = await startProtected(site, siteRules(site));
    const r = await exchange(port, 'PUT /guarded/big.bin HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n', { responses: 1 });
    expect(r.responses.map((x) => x.status)).toEqual([401]);
    expect(fs.existsSync(path.join(site.root, 'guarded', 'big.bin'))).toBe(false);
  });

  it('a wrong password or an unknown user is a 401, as missing credentials are', async () => {
    const { port } = await startProtected(site, siteRules(site));
    for (const header of [basic('alice', 'nope'), basic('mallory', 'alice-pw'), basic('alice', '')]) {
      const r = await fetchRaw(port, req('GET', '/guarded/doc.txt', { Authorization: header }));
      expect([r.status, r.headers['www-authenticate']]).toEqual([401, CHALLENGE]);
    }
  });
});

describe('malformed Authorization fields', () => {
  const bad: [string, string][] = [
    ['no colon', `Basic ${Buffer.from('alicealice-pw').toString('base64')}`],
    ['bad base64', 'Basic !!!not*base64'],
    ['one base64 character too many', 'Basic YWxpY2U6YWxpY2UtcHc=A'],
    ['another scheme', `Bearer ${Buffer.from('alice:alice-pw').toString('base64')}`],
    ['a scheme glued to its token', `Basic${Buffer.from('alice:alice-pw').toString('base64')}`],
    ['the scheme alone', 'Basic'],
    ['empty', ''],
    ['an empty user', `Basic ${Buffer.from(':alice-pw').toString('base64')}`],
    ['bytes that are no UTF-8', `Basic ${Buffer.from([0x61, 0xff, 0x3a, 0x62]).toString('base64')}`],
    ['a control character', `Basic ${Buffer.from('alice:alice\x00pw').toString('base64')}`],
    ['two credentials', `${basic('alice', 'alice-pw')}, ${basic('bob', 'bob-pw')}`],
  ];
  it.each(bad)('%s: 401 with the challenge, never a 500', async (_, header) => {
    const { port } = await startProtected(site, siteRules(site));
    const r = await fetchRaw(port, req('GET', '/guarded/doc.txt', { Authorization: header }));
    expect([r.status, r.headers['www-authenticate']]).toEqual([401, CHALLENGE]);
  });

  it('the scheme is case-insensitive', async () => {
    const { port } = await startProtected(site, siteRules(site));
    const token = Buffer.from('alice:alice-pw').toString('base64');
    expect((await fetchRaw(port, req('GET', '/guarded/doc.txt', { Authorization: `bAsIc ${token}` }))).status).toBe(200);
  });
});

describe('the cache of verified credentials', () => {
  it('checks a credential with bcrypt once, then remembers it', async () => {
    const counter = countingCompare();
    const { port } = await startProtected(site, siteRules(site), { compare: counter.compare });
    expect((await fetchRaw(port, req('GET', '/guarded/doc.txt', auth('alice')))).status).toBe(200);
    expect(counter.calls).toBe(1);
    expect((await fetchRaw(port, req('GET', '/guarded/doc.txt', auth('alice')))).status).toBe(200);
    expect((await fetchRaw(port, req('HEAD', '/guarded/doc.txt', auth('alice')), true)).status).toBe(200);
    expect(counter.calls).toBe(1);
    // A wrong password is never remembered; an unknown user costs a check too (no timing tells who exists).
    await fetchRaw(port, req('GET', '/guarded/doc.txt', auth('alice', 'wrong')));
    await fetchRaw(port, req('GET', '/guarded/doc.txt', auth('alice', 'wrong')));
    await fetchRaw(port, req('GET', '/guarded/doc.txt', auth('mallory', 'x')));
    expect(counter.calls).toBe(4);
    // A remembered user outside a mask is still refused.
    expect((await fetchRaw(port, req('PUT', '/guarded/x.txt', auth('alice'), 'x'))).status).toBe(403);
    expect(counter.calls).toBe(4);
  });

  it('parallel requests with one new credential share one check', async () => {
    const counter = countingCompare();
    // A slow check, so that all four arrive while it runs.
    const compare = (password: string, hash: string) => new Promise<void>((r) => setTimeout(r, 200)).then(() => counter.compare(password, hash));
    const { port } = await startProtected(site, siteRules(site), { compare });
    const replies = await Promise.all([0, 1, 2, 3].map(() => fetchRaw(port, req('GET', '/guarded/doc.txt', auth('alice')))));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(counter.calls).toBe(1);
  });

  it('keeps the 1000 most recently used credentials', async () => {
    const { guard } = await startProtected(site, siteRules(site));
    const realm = guard.realm('reading')!;
    for (let i = 0; i < 1000; i++) realm.remember(`key ${i}`, 'alice');
    expect(realm.verified('key 0')).toBe('alice');
    realm.remember('key 1000', 'bob');
    expect(realm.verifiedCount).toBe(1000);
    expect([realm.verified('key 0'), realm.verified('key 1'), realm.verified('key 1000')]).toEqual(['alice', undefined, 'bob']);
  });

  it('forgets what it verified when the password file changes, and reads the new one', async () => {
    const clock = new Clock();
    const counter = countingCompare();
    const { port } = await startProtected(site, siteRules(site), { compare: counter.compare, now: clock.now });
    const original = fs.readFileSync(site.passwd, 'utf8');
    try {
      expect((await fetchRaw(port, req('GET', '/guarded/doc.txt', auth('alice')))).status).toBe(200);
      // Unchanged file, a second later: still remembered.
      clock.advance(1500);
      expect((await fetchRaw(port, req('GET', '/guarded/doc.txt', auth('alice')))).status).toBe(200);
      expect(counter.calls).toBe(1);

      fs.writeFileSync(site.passwd, passwordLines({ ...PASSWORDS, alice: 'new-alice-pw' }));
      const later = new Date(Date.now() + 5000);
      fs.utimesSync(site.passwd, later, later);
      // Within the second, the file is not looked at.
      clock.advance(500);
      expect((await fetchRaw(port, req('GET', '/guarded/doc.txt', auth('alice')))).status).toBe(200);
      expect(counter.calls).toBe(1);
      clock.advance(600);
      expect((await fetchRaw(port, req('GET', '/guarded/doc.txt', auth('alice')))).status).toBe(401);
      expect(counter.calls).toBe(2);
      expect((await fetchRaw(port, req('GET', '/guarded/doc.txt', auth('alice', 'new-alice-pw')))).status).toBe(200);
      expect(counter.calls).toBe(3);
    } finally {
      fs.writeFileSync(site.passwd, original);
    }
  });

  it('a password file that becomes unreadable lets nobody in', async () => {
    const clock = new Clock();
    const log: string[] = [];
    const original = fs.readFileSync(site.passwd, 'utf8');
    const { port } = await startProtected(site, siteRules(site), { now: clock.now, log: (l) => log.push(l) });
    try {
      expect((await fetchRaw(port, req('GET', '/guarded/doc.txt', auth('alice')))).status).toBe(200);
      fs.rmSync(site.passwd);
      clock.advance(1001);
      expect((await fetchRaw(port, req('GET', '/guarded/doc.txt', auth('alice')))).status).toBe(401);
      expect(log.join('\n')).toMatch(/cannot read \(ENOENT\)/);
    } finally {
      fs.writeFileSync(site.passwd, original);
    }
  });
});

describe('rules that were only parsed', () => {
  it('get their guard at the first protected request; a setup that cannot load answers 500, said once', async () => {
    const logs: string[] = [];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logs.push(String(chunk));
      return true;
    });
    try {
      const good = await startServer(site.root, siteRules(site));
      expect((await fetchRaw(good.port, req('GET', '/guarded/doc.txt'))).status).toBe(401);
      expect((await fetchRaw(good.port, req('GET', '/guarded/doc.txt', auth('alice')))).status).toBe(200);
      const broken = await startServer(site.root, siteRules({ ...site, passwd: path.join(site.dir, 'no-such-file') }));
      expect((await fetchRaw(broken.port, req('GET', '/guarded/doc.txt', auth('alice')))).status).toBe(500);
      expect((await fetchRaw(broken.port, req('GET', '/guarded/doc.txt'))).status).toBe(500);
      expect((await fetchRaw(broken.port, req('GET', '/open/doc.txt'))).status).toBe(200);
      expect(logs.join('').match(/Protect not enforceable/g)).toHaveLength(1);
      expect(logs.join('')).toMatch(/PasswordFile: cannot read ".*no-such-file" \(ENOENT\)/);
    } finally {
      stderr.mockRestore();
      await stopServers();
    }
  });
});

describe('the limit on failures per address', () => {
  it('answers 429 with Retry-After after 10 failures in a minute, even to the right password, then recovers', async () => {
    const clock = new Clock();
    const { port } = await startProtected(site, siteRules(site), { now: clock.now });
    for (let i = 0; i < 10; i++) {
      expect((await fetchRaw(port, req('GET', '/guarded/doc.txt', auth('alice', `guess ${i}`)))).status).toBe(401);
    }
    let r = await fetchRaw(port, req('GET', '/guarded/doc.txt', auth('alice')));
    expect([r.status, r.headers['retry-after']]).toEqual([429, '60']);
    expect(r.body.toString()).toBe('429 Too Many Requests: Too many failed authentication attempts\n');
    // Asking without credentials is no attempt: the challenge still comes.
    expect((await fetchRaw(port, req('GET', '/guarded/doc.txt'))).status).toBe(401);
    // Paths no Protect guards are not affected.
    expect((await fetchRaw(port, req('GET', '/open/doc.txt'))).status).toBe(200);
    clock.advance(45_000);
    r = await fetchRaw(port, req('GET', '/guarded/doc.txt', auth('alice')));
    expect([r.status, r.headers['retry-after']]).toEqual([429, '15']);
    clock.advance(15_000);
    expect((await fetchRaw(port, req('GET', '/guarded/doc.txt', auth('alice')))).status).toBe(200);
  });

  it('counts malformed credentials as failures', async () => {
    const clock = new Clock();
    const { port } = await startProtected(site, siteRules(site), { now: clock.now, maxFailures: 2 });
    await fetchRaw(port, req('GET', '/guarded/doc.txt', { Authorization: 'Basic !!' }));
    await fetchRaw(port, req('GET', '/guarded/doc.txt', { Authorization: 'Bearer x' }));
    expect((await fetchRaw(port, req('GET', '/guarded/doc.txt', auth('alice')))).status).toBe(429);
  });
});

describe('credentials never leak', () => {
  it('into a reply, a log or stderr, whatever the outcome', async () => {
    const secretUser = 'zelda-unique-user';
    const secretPassword = 'hunter2-unique-secret';
    const withZelda = { ...PASSWORDS, [secretUser]: secretPassword };
    const original = fs.readFileSync(site.passwd, 'utf8');
    fs.writeFileSync(site.passwd, passwordLines(withZelda));
    const logs: string[] = [];
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logs.push(String(chunk));
      return true;
    });
    try {
      const replies: string[] = [];
      const { port } = await startProtected(site, siteRules(site, 'Fail /forbidden/*'), { log: (l) => logs.push(l), maxFailures: 100 }, {
        file: { log: (l) => logs.push(l) },
        events: { onReply: (request, reply) => logs.push(`${request?.method} ${request?.target} ${reply.status}`), onError: (e) => logs.push(String(e)) },
      });
      const cases = [
        req('GET', '/guarded/doc.txt', auth(secretUser, secretPassword)), // 403: outside GetMask
        req('GET', '/guarded/doc.txt', auth(secretUser, 'wrong')), // 401
        req('GET', '/guarded/doc.txt', { Authorization: `Basic ${Buffer.from(`${secretUser}${secretPassword}`).toString('base64')}` }),
        req('PUT', '/guarded/x.txt', auth(secretUser, secretPassword), 'x'),
        req('DELETE', '/guarded/nothing-here.txt', auth(secretUser, secretPassword)), // 404 after the check
      ];
      for (const c of cases) {
        const r = await exchange(port, c, { responses: 1, timeout: 5000 });
        replies.push(r.raw.toString('utf8'));
      }
      expect(replies.map((r) => r.slice(9, 12))).toEqual(['403', '401', '401', '403', '404']);
      const seen = replies.join('\n') + logs.join('\n');
      for (const secret of [secretUser, secretPassword, Buffer.from(`${secretUser}:${secretPassword}`).toString('base64')]) {
        expect(seen).not.toContain(secret);
      }
    } finally {
      stderr.mockRestore();
      fs.writeFileSync(site.passwd, original);
    }
  });
});
