// The rule-file side of the HTTP client: Proxy with an upstream group, and
// the Proxy… and TrustProxy directives, with their errors.

import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadRules, parseRules, RuleFileError } from '../../src/rules/index.js';

const rules = (text: string) => parseRules(text, '/etc/streamstack/test.rules', { serverRoot: '/srv/www' });

function errorsOf(text: string): string[] {
  try {
    rules(text);
  } catch (err) {
    if (err instanceof RuleFileError) return err.errors.map((e) => `${e.line}: ${e.directive}: ${e.message}`);
    throw err;
  }
  return [];
}

describe('Proxy with several URLs', () => {
  it('translates to the first member, listing every member with the captures and the query', () => {
    const r = rules('Proxy /app/* http://10.0.0.1:8000/v1/* https://b.example/v1/*');
    expect(r.translate('/app/a b/c', '?q=1')).toEqual({
      kind: 'proxy',
      address: 'http://10.0.0.1:8000/v1/a%20b/c?q=1',
      upstreams: ['http://10.0.0.1:8000/v1/a%20b/c?q=1', 'https://b.example/v1/a%20b/c?q=1'],
    });
  });

  it('a single URL gives no group', () => {
    expect(rules('Proxy /a/* http://h/*').translate('/a/x')).toEqual({ kind: 'proxy', address: 'http://h/x' });
  });

  it('every member is checked like the first', () => {
    expect(errorsOf('Proxy /a/* http://h/* /local/*')).toEqual(['1: Proxy: expected an absolute http(s) URL, got "/local/*"']);
    expect(errorsOf('Proxy /a/* http://h/* http://*/x')).toHaveLength(1);
    expect(errorsOf('Proxy /a/* http://h/* http://g/*/*')).toEqual(['1: Proxy: RESULT "http://g/*/*" has 2 * but TEMPLATE "/a/*" has 1']);
  });

  it('a member whose result climbs out of its directory refuses the request', () => {
    const r = rules('Proxy /a* http://h/v1/.* http://g/v2/x*');
    expect(r.translate('/a./admin')).toEqual({ kind: 'fail', code: 'WWW_ERR_RULE_FORBIDDEN' });
  });
});

describe('the Proxy… directives', () => {
  it('are read into the settings, durations in ms', () => {
    const r = rules(`
ProxyConnectTimeout 250ms
ProxyHeadTimeout 30s
ProxyBodyTimeout 2m
ProxyIdleTimeout 0
ProxyMaxConnections 8
ProxyHost Upstream
ProxyCA certs/ca.pem
TrustProxy 10.0.0.0/8 127.0.0.1
TrustProxy ::1 fd00::/8
Pass /*`);
    expect(r.settings).toMatchObject({
      proxyConnectTimeout: 250, proxyHeadTimeout: 30_000, proxyBodyTimeout: 120_000, proxyIdleTimeout: 0,
      proxyMaxConnections: 8, proxyHost: 'upstream', proxyCA: '/srv/www/certs/ca.pem',
      trustProxy: ['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8'],
    });
  });

  it('report what they expected', () => {
    expect(errorsOf('ProxyConnectTimeout 5')).toEqual(['1: ProxyConnectTimeout: expected a duration like 500ms, 10s or 2m, got "5"']);
    expect(errorsOf('ProxyMaxConnections 0')).toEqual(['1: ProxyMaxConnections: expected a whole number of at least 1, got "0"']);
    expect(errorsOf('ProxyHost backend')).toEqual(['1: ProxyHost: expected client or upstream, got "backend"']);
    expect(errorsOf('TrustProxy 10.0.0.0/33 localhost')).toEqual([
      '1: TrustProxy: expected an IP address or a CIDR block like 10.0.0.0/8, got "10.0.0.0/33"',
      '1: TrustProxy: expected an IP address or a CIDR block like 10.0.0.0/8, got "localhost"',
    ]);
    expect(errorsOf('ProxyCA')).toEqual(['1: ProxyCA: expected FILE, got none']);
  });

  it('a ProxyCA that cannot be read, or holds no certificate, stops the load at its line', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ss-ca-'));
    try {
      const file = path.join(dir, 'proxy.rules');
      fs.writeFileSync(file, 'Pass /*\nProxyCA missing.pem\n');
      await expect(loadRules(file)).rejects.toThrow(/proxy\.rules:2: ProxyCA: expected a readable PEM certificate file, got ".*missing\.pem" \(ENOENT\)/);
      fs.writeFileSync(path.join(dir, 'empty.pem'), 'nothing\n');
      fs.writeFileSync(file, 'Pass /*\nProxyCA empty.pem\n');
      await expect(loadRules(file)).rejects.toThrow(/no PEM certificate/);
      fs.copyFileSync(path.join(__dirname, '..', 'fixtures', 'tls', 'ca.pem'), path.join(dir, 'ca.pem'));
      fs.writeFileSync(file, 'Pass /*\nProxyCA ca.pem\n');
      expect((await loadRules(file)).settings.proxyCA).toBe(path.join(dir, 'ca.pem'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
