// Loading Protection blocks: every problem of the block or of its password
// and group files is a RuleFileError line (`file:line`), a weak hash among
// them, and the hash itself never appears in the message.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadRules, RuleFileError } from '../../src/rules/index.js';
import { parseBasic, challenge } from '../../src/auth/basic.js';
import { parseGroupFile, parsePasswordFile } from '../../src/auth/password-file.js';
import { FailureLimiter } from '../../src/auth/rate-limit.js';
import { Mask } from '../../src/auth/realm.js';
import { makeSite, passwordLines, type Site } from './fixtures.js';

let site: Site;
beforeAll(() => {
  site = makeSite();
});
afterAll(() => site.cleanup());

function block(fields: string, name = 'p'): string {
  return `Protection ${name} {\n${fields}\n}\nProtect /p/* ${name}\nPass /*\n`;
}

async function loadErrors(rulesText: string): Promise<string[]> {
  const file = path.join(site.dir, 'load.rules');
  fs.writeFileSync(file, rulesText);
  try {
    await loadRules(file, { serverRoot: site.root });
  } catch (err) {
    expect(err).toBeInstanceOf(RuleFileError);
    return (err as Error).message.split('\n');
  }
  return [];
}

describe('password files', () => {
  it('refuses every hash but bcrypt, with file:line, never quoting the hash', async () => {
    const passwd = path.join(site.dir, 'weak.passwd');
    const sha = '{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=';
    fs.writeFileSync(passwd, [
      passwordLines({ alice: 'a' }).trim(),
      `bob:${sha}`,
      'carol:$apr1$abcdefgh$0123456789abcdefghijkl',
      'dave:abcdefghijklm',
      'erin:plain text password',
      'frank:$6$salt$hash',
      '# a comment',
      'no colon here',
      passwordLines({ alice: 'b' }).trim(),
      '',
    ].join('\n'));
    const errors = await loadErrors(block(`AuthType Basic\nServerId R\nPasswordFile weak.passwd\nGetMask All`));
    expect(errors).toEqual([
      `${passwd}:2: PasswordFile: expected a bcrypt hash ($2a$, $2b$ or $2y$, as htpasswd -B writes), got {SHA} (SHA-1)`,
      `${passwd}:3: PasswordFile: expected a bcrypt hash ($2a$, $2b$ or $2y$, as htpasswd -B writes), got $apr1$ (Apache MD5)`,
      `${passwd}:4: PasswordFile: expected a bcrypt hash ($2a$, $2b$ or $2y$, as htpasswd -B writes), got a DES crypt hash`,
      `${passwd}:5: PasswordFile: expected a bcrypt hash ($2a$, $2b$ or $2y$, as htpasswd -B writes), got plain text or an unknown hash`,
      `${passwd}:6: PasswordFile: expected a bcrypt hash ($2a$, $2b$ or $2y$, as htpasswd -B writes), got $6$ (crypt)`,
      `${passwd}:8: PasswordFile: expected USER:HASH`,
      `${passwd}:9: PasswordFile: the same user is listed twice`,
    ]);
    expect(errors.join('\n')).not.toContain('W6ph5Mm5');
    expect(errors.join('\n')).not.toContain('plain text password');
  });

  it('takes $2a$, $2b$ and $2y$', () => {
    const hash = passwordLines({ a: 'x' }).trim().slice(2);
    const text = ['$2a$', '$2b$', '$2y$'].map((v, i) => `u${i}:${v}${hash.slice(4)}`).join('\n');
    const table = parsePasswordFile(text);
    expect(table.problems).toEqual([]);
    expect([...table.users.keys()]).toEqual(['u0', 'u1', 'u2']);
  });

  it('reads group files: GROUP: USER USER, commas allowed', () => {
    const t = parseGroupFile('# c\nwriters: bob carol\nreaders: bob, zoë\n\nbroken line\nwriters: dave\n');
    expect([...t.groups].map(([g, users]) => [g, [...users]])).toEqual([['writers', ['bob', 'carol', 'dave']], ['readers', ['bob', 'zoë']]]);
    expect(t.problems).toEqual([{ line: 5, message: 'expected GROUP: USER USER …' }]);
  });
});

describe('Protection blocks', () => {
  it('reports every problem of a block at its line', async () => {
    const errors = await loadErrors([
      'Pass /*',
      'Protection a {',
      'AuthType Digest',
      'PasswordFile passwd',
      'GetMask alice, nobody-known, writers',
      'MaskGroup x',
      '}',
      'Protection b {',
      'AuthType Basic',
      'ServerId B',
      '}',
      'Protection c {',
      'AuthType Basic',
      'ServerId C',
      'PasswordFile missing.passwd',
      'GetMask All',
      '}',
      'Protect /a/* a',
      'Protect /b/* b',
      'Protect /c/* c',
      'Protect /d/* setup/d.conf',
      '',
    ].join('\n'));
    const file = path.join(site.dir, 'load.rules');
    expect(errors).toEqual([
      `${file}:2: Protection: AuthType: expected Basic, got "Digest" in block "a"`,
      `${file}:2: Protection: ServerId: expected the realm name in block "a"`,
      `${file}:2: Protection: MaskGroup: not supported (use GetMask, PostMask, PutMask, DeleteMask) in block "a"`,
      `${file}:2: Protection: GetMask: "nobody-known" is no user of the PasswordFile, no group of the GroupFile, nor All in block "a"`,
      `${file}:2: Protection: GetMask: "writers" is no user of the PasswordFile, no group of the GroupFile, nor All in block "a"`,
      `${file}:8: Protection: expected at least one of GetMask, PostMask, PutMask, DeleteMask (a method without a mask is open) in block "b"`,
      `${file}:8: Protection: PasswordFile: expected the file of users and bcrypt hashes in block "b"`,
      `${file}:12: Protection: PasswordFile: cannot read "${path.join(site.dir, 'missing.passwd')}" (ENOENT) in block "c"`,
      `${file}:21: Protect: protection setup files are not supported, got "${path.join(site.root, 'setup/d.conf')}" (name a Protection block)`,
    ]);
  });

  it('resolves PasswordFile and GroupFile against the rule file, and loads a good block', async () => {
    const errors = await loadErrors(block('AuthType Basic\nServerId R\nPasswordFile passwd\nGroupFile groups\nGetMask writers, alice'));
    expect(errors).toEqual([]);
  });
});

describe('the pieces', () => {
  it('parseBasic takes RFC 7617 credentials only', () => {
    const b = (s: string) => Buffer.from(s).toString('base64');
    expect(parseBasic(`Basic ${b('alice:pw:with:colons')}`)).toEqual({ user: 'alice', password: 'pw:with:colons', token: b('alice:pw:with:colons') });
    expect(parseBasic(`basic   ${b('a:')}`)?.password).toBe('');
    expect(parseBasic(`Basic ${b('a:b').replace(/=+$/, '')}`)?.user).toBe('a');
    for (const bad of [undefined, '', 'Basic', 'Basic ', `Digest ${b('a:b')}`, `Basic ${b('ab')}`, `Basic ${b(':b')}`, 'Basic ====', 'Basic a=b=']) {
      expect(parseBasic(bad)).toBeNull();
    }
  });

  it('the challenge quotes the realm', () => {
    expect(challenge('My "big" \\ realm')).toBe('Basic realm="My \\"big\\" \\\\ realm", charset="UTF-8"');
  });

  it('masks: All, users, groups', () => {
    const groups = new Map([['g', new Set(['bob'])]]);
    expect(new Mask('all').allows('anyone', groups)).toBe(true);
    const m = new Mask('alice,  g');
    expect([m.allows('alice', groups), m.allows('bob', groups), m.allows('carol', groups)]).toEqual([true, true, false]);
  });

  it('the failure table stays bounded', () => {
    const l = new FailureLimiter({ maxAddresses: 3, maxFailures: 1 });
    for (const a of ['a', 'b', 'c', 'd']) l.fail(a, 0);
    expect(l.size).toBe(3);
    expect([l.blockedFor('a', 1), l.blockedFor('d', 1)]).toEqual([0, 60]);
    expect(l.blockedFor('d', 60_000)).toBe(0);
  });
});
