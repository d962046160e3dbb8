// The upstream target of a rule's address, taken without a URL parse where
// URL would keep it as it is: always what `new URL` gives.

import { describe, expect, it } from 'vitest';
import { originOf, upstreamTarget } from '../../protocols/http-client-connect.js';

const ADDRESSES = [
  'http://127.0.0.1:3000/api/x', 'http://127.0.0.1:3000/', 'http://127.0.0.1:80/x', 'https://example.org:443/a?b=c&d',
  'http://EXAMPLE.org/A/B?Q', 'http://[::1]:8080/x', 'http://[0:0:0:0:0:0:0:1]/x', 'https://example.org/%41%2F?x=%zz',
  'http://a/x?', 'http://a/x?y?z', 'http://a/./x', 'http://a/b/../x', 'http://a/b/%2e%2E/x', 'http://a/b/%2E/x', 'http://a/.well-known/x',
  'http://a/sp ace', 'http://a/quote"d', "http://a/x?it's", "http://a/it's", 'http://a/x#frag', 'http://a/back\\slash', 'http://a/{x}|^`',
  'http://a/snow☃', 'http://a/tab\there', 'http://user:pw@a/x', 'http://a:80/x', 'https://a:443/x', 'http://a.:8080/x',
  'http://xn--bcher-kva.example/x', 'http://bücher.example/x', 'http://a/~user/(1)*+,;=:@$!',
];

describe('upstreamTarget', () => {
  it.each(ADDRESSES)('%s: as new URL gives it (twice, the second from the kept origin)', (address) => {
    const url = new URL(address);
    const want = { origin: originOf(url), authority: url.host, target: url.pathname + url.search };
    expect(upstreamTarget(address)).toEqual(want);
    expect(upstreamTarget(address)).toEqual(want);
  });
});
