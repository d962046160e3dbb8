// The one error table: frozen, area-prefixed codes, and the README lists
// every code with its status (fastify's habit).

import { describe, it, expect } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ERRORS, HttpError, fromOsError, STATUS_TEXT } from '../src/errors.js';
import { errorReply } from '../src/reply.js';

const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');

describe('the error table', () => {
  it('is frozen, and every code is WWW_ERR_<AREA>_… with a known status', () => {
    expect(Object.isFrozen(ERRORS)).toBe(true);
    for (const [code, spec] of Object.entries(ERRORS)) {
      expect(code).toMatch(/^WWW_ERR_(PARSE|REQ|RULE|AUTH|FILE|CONV|PROXY|INTERNAL)(_[A-Z0-9]+)*$/);
      expect(Object.isFrozen(spec)).toBe(true);
      expect(STATUS_TEXT[spec.status]).toBeDefined();
    }
  });

  it('is documented in the README, row for row', () => {
    const rows = [...readme.matchAll(/^\| `(WWW_ERR_[A-Z0-9_]+)` \| (\d{3}) \| (.+) \|$/gm)].map((m) => [m[1], Number(m[2]), m[3]]);
    const expected = Object.entries(ERRORS).map(([code, spec]) => [code, spec.status, spec.message]);
    expect(rows).toEqual(expected);
  });

  it('exposes details only for client errors', () => {
    const client = new HttpError('WWW_ERR_PARSE_HEADER', 'bare CR');
    expect(client.expose).toBe(true);
    expect(client.publicMessage).toBe('Malformed header field: bare CR');
    const server = new HttpError('WWW_ERR_FILE_IO', 'EIO at /secret/path');
    expect(server.expose).toBe(false);
    expect(server.publicMessage).toBe('File system error');
    expect(errorReply(server).body!.toString()).not.toContain('/secret/path');
  });

  it.each([
    ['ENOENT', 404], ['ENOTDIR', 404], ['ENAMETOOLONG', 404], ['EACCES', 403], ['EPERM', 403],
    ['EMFILE', 503], ['ENFILE', 503], ['ENOSPC', 507], ['EIO', 500],
  ])('maps %s to %i', (code, status) => {
    const err = Object.assign(new Error(code), { code });
    const mapped = fromOsError(err);
    expect(mapped.status).toBe(status);
    if (status === 503) expect(mapped.headers?.['Retry-After']).toBeDefined();
  });
});
