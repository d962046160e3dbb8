// The address guard's table: which addresses a `*` in Tunnel or Forward may
// never reach, in every notation, and the lookup that checks what a name
// resolves to before any connect.

import { describe, expect, it } from 'vitest';
import { guardedLookup, isPrivateAddress } from '../../protocols/http-client-guard.js';
import { HttpError } from '../../src/errors.js';

describe('isPrivateAddress', () => {
  it.each([
    '127.0.0.1', '127.255.0.9', '10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.254', '192.168.0.1',
    '169.254.169.254', '0.0.0.0', '100.64.0.1', '::1', '::', 'fe80::1', 'febf::1', 'fc00::1', 'fd12:3456::1',
    '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:a00:1', '::FFFF:7F00:1', '::10.0.0.1', '64:ff9b::7f00:1',
    '0:0:0:0:0:ffff:192.168.1.1', 'fe80::1%lo', 'localhost', 'not an address',
  ])('%s is refused', (a) => expect(isPrivateAddress(a)).toBe(true));

  it.each(['8.8.8.8', '172.32.0.1', '172.15.255.255', '192.169.0.1', '1.1.1.1', '::ffff:8.8.8.8', '2001:db8::1', '2606:4700::1111', 'fec0::1'])(
    '%s is allowed',
    (a) => expect(isPrivateAddress(a)).toBe(false),
  );
});

describe('guardedLookup', () => {
  const run = (addresses: { address: string; family: number }[], all: boolean) => new Promise<{ err: unknown; result: unknown }>((resolve) => {
    const lookup = guardedLookup(async () => addresses);
    lookup('name.test', { all } as never, ((err: unknown, result: unknown) => resolve({ err, result })) as never);
  });

  it('refuses a name when any of its addresses is private, with WWW_ERR_PROXY_ADDRESS', async () => {
    const { err } = await run([{ address: '8.8.8.8', family: 4 }, { address: '10.0.0.1', family: 4 }], true);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).code).toBe('WWW_ERR_PROXY_ADDRESS');
    expect((err as HttpError).message).toContain('name.test is 10.0.0.1');
  });

  it('passes public addresses on, all of them or the first', async () => {
    expect((await run([{ address: '8.8.8.8', family: 4 }, { address: '2001:db8::1', family: 6 }], true)).result).toHaveLength(2);
    expect(await run([{ address: '8.8.8.8', family: 4 }], false)).toEqual({ err: null, result: '8.8.8.8' });
  });
});
