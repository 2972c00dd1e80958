import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalHeaders,
  canonicalHeaderValue,
  canonicalQuery,
  canonicalUri,
  normalizeAwsPath,
  parseQuery,
  pathsAgree,
  pctDecode,
  splitTarget,
  uriEncode,
} from './canonical.js';
import { normalizePath } from '../../routing/normalize-path.js';

test('uriEncode: unreserved kept, everything else %XY upper-case, UTF-8 octets, slash only in paths', () => {
  assert.equal(uriEncode('AZaz09-._~', false), 'AZaz09-._~');
  assert.equal(uriEncode("a b+c/d!'()*=&", false), 'a%20b%2Bc%2Fd%21%27%28%29%2A%3D%26');
  assert.equal(uriEncode('/a b/c', true), '/a%20b/c');
  assert.equal(uriEncode('\u00e1\u0088\u00b4', false), '%E1%88%B4', 'byte string');
  assert.equal(uriEncode('\u1234', false), '%E1%88%B4', 'text is encoded as UTF-8');
  assert.equal(uriEncode('%41', false), '%2541');
});

test('pctDecode: octets, case-insensitive hex, + kept, malformed refused', () => {
  assert.equal(pctDecode('a%20b%2fc%7E+'), 'a b/c~+');
  assert.equal(pctDecode('%E1%88%B4'), '\u00e1\u0088\u00b4');
  assert.equal(pctDecode('%'), undefined);
  assert.equal(pctDecode('%4'), undefined);
  assert.equal(pctDecode('%zz'), undefined);
  assert.equal(pctDecode('abc%4'), undefined);
});

test('splitTarget: origin-form and absolute-form', () => {
  assert.deepEqual(splitTarget('/a/b?x=1&y'), { path: '/a/b', query: 'x=1&y' });
  assert.deepEqual(splitTarget('/'), { path: '/', query: '' });
  assert.deepEqual(splitTarget('http://h:8080/p?q'), { path: '/p', query: 'q' });
  assert.deepEqual(splitTarget('https://h?q'), { path: '/', query: 'q' });
});

test('non-S3 canonical URI: AWS normalisation, then the path as sent encoded again', () => {
  assert.equal(canonicalUri('/', false), '/');
  assert.equal(canonicalUri('', false), '/');
  assert.equal(canonicalUri('//example//', false), '/example/');
  assert.equal(canonicalUri('/example/..', false), '/');
  assert.equal(canonicalUri('/a/./b/../c/', false), '/a/c/');
  assert.equal(canonicalUri('/./', false), '/');
  assert.equal(canonicalUri('/documents and settings/', false), '/documents%20and%20settings/');
  assert.equal(canonicalUri('/my%20file', false), '/my%2520file', 'double encoding');
  assert.equal(canonicalUri('/a/%2E%2E/b', false), '/a/%252E%252E/b', 'an escaped dot is not a dot segment');
  assert.equal(canonicalUri('/a:b@c', false), '/a%3Ab%40c');
  assert.equal(canonicalUri('/bad%zz', false), undefined);
});

test('S3 canonical URI: no normalisation, each segment decoded and encoded once', () => {
  assert.equal(canonicalUri('/my-object//example//photo.user', true), '/my-object//example//photo.user');
  assert.equal(canonicalUri('/a/./b/../c', true), '/a/./b/../c');
  assert.equal(canonicalUri('/my%20cat.jpg', true), '/my%20cat.jpg');
  assert.equal(canonicalUri('/caf%c3%a9%7e', true), '/caf%C3%A9~', 'optional escapes do not change the signed octets');
  assert.equal(canonicalUri('/a!b', true), '/a%21b');
  assert.equal(canonicalUri('', true), '/');
});

test('normalizeAwsPath drops empty segments before applying ..', () => {
  assert.equal(normalizeAwsPath('/a//../b'), '/b');
  assert.equal(normalizeAwsPath('/a/.'), '/a');
  assert.equal(normalizeAwsPath('/a/b/'), '/a/b/');
  assert.equal(normalizeAwsPath('/../..'), '/');
});

test('path agreement: signed (AWS-normalised, decoded) path vs the gateway path, decoded', () => {
  const gw = (t: string) => {
    const n = normalizePath(t, 16384);
    assert.ok(n.ok, t);
    return n.path;
  };
  const agree = (raw: string, s3 = false) => pathsAgree(raw, gw(raw), s3);
  for (const p of ['/', '/a/b', '//example//', '/example/..', '/a/./b/../c/', '/%7Euser/x', '/my%20file', '/caf%c3%a9', '/-._~AZaz09']) {
    assert.equal(agree(p), true, p);
  }
  // Where the gateway and AWS's rules name different resources, the request is refused.
  assert.equal(agree('/a/%2E%2E/admin'), false, 'escaped dots: AWS keeps the segment, the gateway removes it');
  assert.equal(agree('/a//../admin'), false, '.. over an empty segment');
  assert.equal(agree('/a/.'), false, 'trailing dot segment: /a for AWS, /a/ for the gateway');
  // S3 signs the path as sent: any normalisation by the gateway is a disagreement.
  assert.equal(agree('/bucket/key', true), true);
  assert.equal(agree('/bucket/my%20key', true), true);
  assert.equal(agree('/bucket//key', true), false);
  assert.equal(agree('/bucket/./key', true), false);
});

test('canonical query: decoded then encoded, sorted by name then value, Signature skipped when asked', () => {
  const q = (raw: string, skip?: string) => canonicalQuery(parseQuery(raw)!, skip);
  assert.equal(q(''), '');
  assert.equal(q('Param2=value2&Param1=value1'), 'Param1=value1&Param2=value2');
  assert.equal(q('Param1=value2&Param1=Value1'), 'Param1=Value1&Param1=value2');
  assert.equal(q('b&a=&c=1'), 'a=&b=&c=1');
  assert.equal(q('a=x%20y&a=x%2By&%7e=%7E'), 'a=x%20y&a=x%2By&~=~');
  assert.equal(q('k=%e1%88%b4&&j=/'), 'j=%2F&k=%E1%88%B4');
  assert.equal(q('X-Amz-Signature=abc&X-Amz-Date=1', 'X-Amz-Signature'), 'X-Amz-Date=1');
  assert.equal(parseQuery('a=%zz'), undefined);
  // Sorting is by encoded octets: upper-case before lower-case, '%' before letters.
  assert.equal(q('b=1&B=1&%41=2&_=3'), 'A=2&B=1&_=3&b=1');
});

test('canonical header values: SP/HTAB runs collapsed, trimmed; other octets untouched', () => {
  assert.equal(canonicalHeaderValue('  a   b \t c  '), 'a b c');
  assert.equal(canonicalHeaderValue('"a   b   c"'), '"a b c"');
  assert.equal(canonicalHeaderValue('\u00a0x\u00a0'), '\u00a0x\u00a0', 'a latin1 0xA0 octet is data, not whitespace');
  assert.equal(canonicalHeaderValue(''), '');
});

test('canonical headers: signed ones only, lower-case, repeats comma-joined in order, missing reported', () => {
  const raw = ['Host', 'h', 'My-Header1', 'value4', 'X-Amz-Date', 'd', 'my-header1', ' value1 ', 'Other', 'o'];
  assert.equal(canonicalHeaders(raw, ['host', 'my-header1', 'x-amz-date']), 'host:h\nmy-header1:value4,value1\nx-amz-date:d\n');
  assert.deepEqual(canonicalHeaders(raw, ['host', 'x-absent']), { missing: 'x-absent' });
});
