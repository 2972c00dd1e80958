import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePath } from './normalize-path.js';

const LIMIT = 16 * 1024;
const path = (target: string) => {
  const r = normalizePath(target, LIMIT);
  assert.ok(r.ok, `${JSON.stringify(target)} was rejected: ${r.ok ? '' : r.message}`);
  return r.path;
};
const rejected = (target: string) => {
  const r = normalizePath(target, LIMIT);
  assert.ok(!r.ok, `${JSON.stringify(target)} was accepted as ${r.ok ? r.path : ''}`);
  return r.code;
};

describe('normalizePath', () => {
  it('returns canonical paths unchanged, without copying', () => {
    for (const p of ['/', '/a', '/a/b/', '/api/v1/users/42', '/a.b/c..d/.e~f', '/@:!$&\'()*+,=']) {
      const r = normalizePath(p, LIMIT);
      assert.ok(r.ok);
      assert.equal(r.path, p);
      assert.equal(r.query, '');
    }
  });

  it('removes dot segments (RFC 3986 5.2.4)', () => {
    assert.equal(path('/a/../b'), '/b');
    assert.equal(path('/a/./b/'), '/a/b/');
    assert.equal(path('/..'), '/');
    assert.equal(path('/../../x'), '/x');
    assert.equal(path('/a/b/..'), '/a/');
    assert.equal(path('/a/b/.'), '/a/b/');
    assert.equal(path('/a/.'), '/a/');
    assert.equal(path('/.'), '/');
    assert.equal(path('/a/b/../../..'), '/');
    assert.equal(path('/a/.../b'), '/a/.../b', '... is an ordinary segment');
    assert.equal(path('/.well-known/x'), '/.well-known/x');
  });

  it('merges slashes after dot-segment removal, so nothing escapes the root', () => {
    assert.equal(path('//b'), '/b');
    assert.equal(path('/a//b///c'), '/a/b/c');
    assert.equal(path('//..//x'), '/x');
    assert.equal(path('/..//..//x'), '/x');
    assert.equal(path('/a//../b'), '/a/b', "'..' removes the empty segment, as RFC 3986 does");
    assert.equal(path('/a//'), '/a/');
    assert.equal(path('//'), '/');
    assert.equal(path('/a/..//'), '/');
  });

  it('preserves a trailing slash', () => {
    assert.equal(path('/a/'), '/a/');
    assert.equal(path('/a/b//'), '/a/b/');
    assert.equal(path('/a/%62/'), '/a/b/');
  });

  it('decodes unreserved escapes exactly once', () => {
    assert.equal(path('/%62'), '/b');
    assert.equal(path('/%41%42'), '/AB');
    assert.equal(path('/%7e%5F%2d%2E%30'), '/~_-.0');
    assert.equal(path('/a/%2e%2E/b'), '/b');
    assert.equal(path('/a/.%2e/b'), '/b');
    assert.equal(path('/a/%2e/b'), '/a/b');
    assert.equal(path('/%252e%252e/x'), '/%252e%252e/x', 'never double-decoded');
    assert.equal(path('/%2561'), '/%2561');
  });

  it('keeps other escapes, with upper-case hex', () => {
    assert.equal(path('/caf%c3%a9'), '/caf%C3%A9');
    assert.equal(path('/a%20b'), '/a%20b');
    assert.equal(path('/a%3fb'), '/a%3Fb');
    assert.equal(path('/%25'), '/%25');
  });

  it('splits the query at the first ? and returns it raw', () => {
    assert.deepEqual(normalizePath('/a?x=1&y=%2F', LIMIT), { ok: true, path: '/a', query: 'x=1&y=%2F' });
    assert.deepEqual(normalizePath('/a/../b?', LIMIT), { ok: true, path: '/b', query: '' });
    assert.deepEqual(normalizePath('/a?b?c/../d', LIMIT), { ok: true, path: '/a', query: 'b?c/../d' });
    assert.deepEqual(normalizePath('/%2e%2e?q=%zz', LIMIT), { ok: true, path: '/', query: 'q=%zz' });
  });

  it('rejects characters the query must not contain', () => {
    for (const t of ['/a?x y', '/a?x#y', '/a?x\x00', '/a?\t', '/a?x\x7f', '/a?\r\n']) {
      assert.equal(rejected(t), 'request.bad_path', JSON.stringify(t));
    }
  });

  it('rejects raw characters some backends read differently', () => {
    for (const t of ['/a\\b', '/a;b', '/a;jsessionid=1/b', '/a b', '/a#b', '/a\x00', '/a\tb', '/a\x7f', '/\x1f', '/caf\xe9', '/\u2215', '/\uff0e\uff0e/x']) {
      assert.equal(rejected(t), 'request.bad_path', JSON.stringify(t));
    }
  });

  it('rejects encoded separators and controls, in any case', () => {
    for (const t of ['/a%2fb', '/a%2Fb', '/a%5cb', '/a%5Cb', '/a%00', '/%01', '/%1f', '/%1F', '/%7f', '/%0d%0a', '/a%3bb', '/..%2f..%2fetc']) {
      assert.equal(rejected(t), 'request.bad_path', JSON.stringify(t));
    }
  });

  it('rejects malformed escapes', () => {
    for (const t of ['/%zz', '/%', '/a%', '/a%2', '/%2/x', '/%g0', '/%0g', '/%%41', '/%2?x', '/%\u0661\u0662']) {
      assert.equal(rejected(t), 'request.bad_path', JSON.stringify(t));
    }
  });

  it('accepts only origin-form', () => {
    for (const t of ['', '*', 'a/b', 'http://example.com/', '?x', '%2F']) {
      assert.equal(rejected(t), 'request.bad_path', JSON.stringify(t));
    }
  });

  it('rejects targets longer than the limit, query included', () => {
    assert.equal(normalizePath('/' + 'a'.repeat(99), 100).ok, true);
    assert.equal(normalizePath('/' + 'a'.repeat(100), 100).ok, false);
    assert.equal(rejected('/' + 'a'.repeat(LIMIT)), 'request.uri_too_long');
    const r = normalizePath('/a?' + 'q'.repeat(98), 100);
    assert.ok(!r.ok && r.code === 'request.uri_too_long');
  });

  it('counts UTF-8 bytes, not UTF-16 units, near the limit', () => {
    // 1 + 1 + 30 units, but 2 + 30*3 = 92 bytes.
    const target = '/?' + '\u20ac'.repeat(30);
    assert.equal(normalizePath(target, 91).ok, false);
    assert.equal(normalizePath(target, 92).ok, true);
  });
});
