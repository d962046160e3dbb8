// The shipped upload-area.rules through the command line: reading is open,
// writing asks for the demo user of the shipped password file, and the
// scripts/passwd.js the README documents writes lines the server accepts.

import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cliScratch, startCli } from '../helpers/cli.js';
import { fetchRaw, req } from '../protocols/file-helpers.js';
import { parsePasswordFile } from '../../src/auth/password-file.js';
import { auth } from './fixtures.js';

const REPO = path.join(__dirname, '..', '..');
const { running, tmp, cleanup } = cliScratch('streamstack-upload-');
afterEach(cleanup);

describe('upload-area.rules', () => {
  it('guards writes with the shipped demo user; reads stay open; no warning', async () => {
    const root = tmp();
    const cli = await startCli([root, '--port', '0', '--rules', path.join(REPO, 'rules', 'upload-area.rules')]);
    running.push(cli);
    expect((await fetchRaw(cli.port, req('PUT', '/files/a.txt', {}, 'hello'))).status).toBe(401);
    expect((await fetchRaw(cli.port, req('PUT', '/files/a.txt', auth('demo', 'wrong'), 'hello'))).status).toBe(401);
    expect((await fetchRaw(cli.port, req('PUT', '/files/a.txt', auth('demo', 'upload-demo'), 'hello'))).status).toBe(201);
    const get = await fetchRaw(cli.port, req('GET', '/files/a.txt'));
    expect([get.status, get.body.toString()]).toEqual([200, 'hello']);
    expect((await fetchRaw(cli.port, req('DELETE', '/files/a.txt'))).status).toBe(401);
    expect(cli.stderr()).toBe('');
  });

  it('scripts/passwd.js adds and changes bcrypt lines, the password read from standard input', () => {
    const file = path.join(tmp(), 'passwd');
    const run = (user: string, password: string) =>
      execFileSync(process.execPath, [path.join(REPO, 'scripts', 'passwd.js'), file, user, '--cost', '4'], { input: `${password}\n` }).toString();
    expect(run('alice', 'one')).toBe(`added alice in ${file}\n`);
    run('bob', 'two');
    const first = fs.readFileSync(file, 'utf8');
    expect(run('alice', 'three')).toBe(`changed alice in ${file}\n`);
    const table = parsePasswordFile(fs.readFileSync(file, 'utf8'));
    expect(table.problems).toEqual([]);
    expect([...table.users.keys()]).toEqual(['alice', 'bob']);
    expect(table.users.get('alice')).not.toBe(parsePasswordFile(first).users.get('alice'));
    expect(fs.readFileSync(file, 'utf8')).not.toContain('three');
  });
});
