import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeHost } from './host.js';

describe('normalizeHost', () => {
  it('lower-cases and strips the port and one trailing dot', () => {
    assert.equal(normalizeHost('example.com'), 'example.com');
    assert.equal(normalizeHost('Example.COM'), 'example.com');
    assert.equal(normalizeHost('example.com:8080'), 'example.com');
    assert.equal(normalizeHost('example.com.'), 'example.com');
    assert.equal(normalizeHost('EXAMPLE.com.:443'), 'example.com');
    assert.equal(normalizeHost('localhost'), 'localhost');
    assert.equal(normalizeHost('127.0.0.1:80'), '127.0.0.1');
    assert.equal(normalizeHost('my_host-1.internal'), 'my_host-1.internal');
  });

  it('accepts an empty port, which RFC 3986 allows', () => {
    assert.equal(normalizeHost('example.com:'), 'example.com');
  });

  it('keeps IPv6 literals bracketed, in one spelling', () => {
    assert.equal(normalizeHost('[::1]:8080'), '[::1]');
    assert.equal(normalizeHost('[::1]'), '[::1]');
    assert.equal(normalizeHost('[0:0::1]'), '[::1]');
    assert.equal(normalizeHost('[2001:DB8::A]:443'), '[2001:db8::a]');
  });

  it('rejects values that are not one valid host', () => {
    const bad = [
      '', ':80', '.', '..', 'example.com..', '.example.com', 'a..b', // empty or empty labels
      'user@example.com', 'user:pw@example.com', // userinfo
      'a.com,b.com', 'a.com, b.com', // a list
      'exa mple.com', ' example.com', 'example.com\t', // whitespace
      'example.com:http', 'example.com:65536', 'example.com:123456', 'example.com:-1', 'example.com:80:80', // bad port
      'exa%6dple.com', 'a!b', 'a/b', 'a\\b', 'a?b', 'a#b', 'a*b', '*.example.com', 'a;b', 'a\x00b', 'ex\u00e4mple.com', // grammar
      '[::1', '[::1]x', '[::1]:x', '[::1]:99999', '[1.2.3.4]', '[fe80::1%25eth0]', '[fe80::1%eth0]', '[]', '[v1.x]', // literals
      '::1',
    ];
    for (const h of bad) assert.equal(normalizeHost(h), undefined, JSON.stringify(h));
  });
});
