// The status page counts the HTTP cache: hits, misses, bytes stored and
// evictions, in JSON, HTML and the Prometheus format.

import { afterEach, describe, expect, it } from 'vitest';
import { caching, cleanup } from './fixtures.js';

afterEach(cleanup);

describe('status page counters', () => {
  it('hits, misses, entries, bytes and evictions of the HTTP cache', async () => {
    const s = await caching((req) => ({ fields: ['Cache-Control: max-age=100'], body: `${req.target} `.padEnd(5000, '.') }), 'Status /server-status', 48 * 1024);
    await s.get('/a');
    await s.get('/a');
    await s.get('/a');
    for (let i = 0; i < 10; i++) await s.get(`/n${i}`);
    const json = JSON.parse((await s.get('/server-status', 'Accept: application/json\r\n')).body.toString());
    const store = s.server.proxyCache.store;
    expect(json.proxyCache).toMatchObject({ hits: 2, misses: 11, entries: store.count, bytes: store.bytes, diskEntries: 0 });
    expect(json.proxyCache.evictions).toBeGreaterThan(0);
    expect(json.proxyCache.bytes).toBeGreaterThan(5000);
    const prom = (await s.get('/server-status?format=prometheus')).body.toString();
    expect(prom).toContain('streamstack_proxy_cache_hits_total 2\n');
    expect(prom).toContain('streamstack_proxy_cache_misses_total 11\n');
    expect(prom).toContain(`streamstack_proxy_cache_bytes{tier="memory"} ${store.bytes}\n`);
    expect(prom).toMatch(/streamstack_proxy_cache_evictions_total\{tier="memory"\} [1-9]/);
    const page = (await s.get('/server-status', 'Accept: text/html\r\n')).body.toString();
    expect(page).toContain('<h2>HTTP cache</h2>');
    expect(page).toContain('<tr><td>hits</td><td>2</td><td></td></tr>');
  });
});
