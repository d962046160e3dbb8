// Protect in front of a proxied application: the request is authenticated
// before anything goes upstream, and credentials our realm consumed are not
// forwarded; other schemes on open methods still are.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, fakeUpstream, respond } from '../proxy/fakes.js';
import { fetchRaw, req } from '../protocols/file-helpers.js';
import { auth, makeSite, startProtected, stopAll, type Site } from './fixtures.js';

let site: Site;
beforeAll(() => {
  site = makeSite();
});
afterAll(() => site.cleanup());
afterEach(async () => {
  await stopAll();
  await cleanup();
});

async function proxied(): Promise<{ port: number; up: Awaited<ReturnType<typeof fakeUpstream>> }> {
  const up = await fakeUpstream((_r, socket) => respond(socket, 200, 'from upstream'));
  const { port } = await startProtected(site, `
Enable POST /*
Protection app {
  AuthType Basic
  ServerId App
  PasswordFile ${site.passwd}
  GetMask alice
  PostMask alice
}
Protection pub {
  AuthType Basic
  ServerId Pub
  PasswordFile ${site.passwd}
  PostMask alice
}
Protect /app/* app
Protect /pub/* pub
Proxy /app/* ${up.origin}/*
Proxy /pub/* ${up.origin}/*
Proxy /other/* ${up.origin}/*
`);
  return { port, up };
}

describe('Protect on proxied paths', () => {
  it('refuses before going upstream', async () => {
    const { port, up } = await proxied();
    expect((await fetchRaw(port, req('GET', '/app/x'))).status).toBe(401);
    expect((await fetchRaw(port, req('GET', '/app/x', auth('bob')))).status).toBe(403);
    expect((await fetchRaw(port, req('POST', '/app/x', auth('alice', 'wrong'), 'data'))).status).toBe(401);
    expect(up.requests).toHaveLength(0);
    expect(up.connections).toBe(0);
  });

  it('does not forward the Authorization field it consumed', async () => {
    const { port, up } = await proxied();
    const r = await fetchRaw(port, req('GET', '/app/x', { ...auth('alice'), 'X-Keep': '1' }));
    expect([r.status, r.body.toString()]).toEqual([200, 'from upstream']);
    const post = await fetchRaw(port, req('POST', '/app/y', auth('alice'), 'data'));
    expect(post.status).toBe(200);
    expect(up.requests.map((u) => [u.method, u.target, u.headers.authorization, u.headers['x-keep']])).toEqual([
      ['GET', '/x', undefined, '1'],
      ['POST', '/y', undefined, undefined],
    ]);
    expect(up.requests[1]!.body.toString()).toBe('data');
  });

  it('on an open method of a protected path, keeps Basic credentials to itself but passes other schemes', async () => {
    const { port, up } = await proxied();
    expect((await fetchRaw(port, req('GET', '/pub/a', auth('alice')))).status).toBe(200);
    expect((await fetchRaw(port, req('GET', '/pub/b', { Authorization: 'Bearer app-token' }))).status).toBe(200);
    // A path no Protect names: the application's own credentials go through untouched.
    expect((await fetchRaw(port, req('GET', '/other/c', auth('alice')))).status).toBe(200);
    expect(up.requests.map((u) => u.headers.authorization)).toEqual([undefined, 'Bearer app-token', auth('alice').Authorization]);
  });
});

describe('the masks of methods beyond the four', () => {
  it('PATCH and the WebDAV methods follow PutMask; with only a PutMask, reading stays open', async () => {
    const up = await fakeUpstream((_r, socket) => respond(socket, 200, 'from upstream'));
    const { port } = await startProtected(site, `
Enable PATCH /*
Enable PROPFIND /*
Enable MKCOL /*
Protection writers {
  AuthType Basic
  ServerId Writers
  PasswordFile ${site.passwd}
  PutMask alice
}
Protect /dav/* writers
Proxy /dav/* ${up.origin}/*
`);
    for (const method of ['PATCH', 'PROPFIND', 'MKCOL']) {
      expect([method, (await fetchRaw(port, req(method, '/dav/x'))).status]).toEqual([method, 401]);
      expect([method, (await fetchRaw(port, req(method, '/dav/x', auth('bob')))).status]).toEqual([method, 403]);
      expect([method, (await fetchRaw(port, req(method, '/dav/x', auth('alice')))).status]).toEqual([method, 200]);
    }
    expect((await fetchRaw(port, req('GET', '/dav/x'))).status).toBe(200);
    expect(up.requests.map((u) => u.method)).toEqual(['PATCH', 'PROPFIND', 'MKCOL', 'GET']);
  });
});
