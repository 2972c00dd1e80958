import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMembers, MAX_DEPTH } from './json-members.js';
import { precheck, PrecheckFailure, normalizeTyp, type ParsedToken } from './token.js';

const b64 = (s: string) => Buffer.from(s).toString('base64url');
const SIG = b64('a-signature-of-sorts');
const tok = (header: string, payload = '{"iss":"https://idp","sub":"a"}', sig = SIG) => `${b64(header)}.${b64(payload)}.${sig}`;
const code = (t: string) => {
  const r = precheck(t);
  return r instanceof PrecheckFailure ? r.code : 'ok';
};
const ok = (t: string) => {
  const r = precheck(t);
  assert.ok(!(r instanceof PrecheckFailure), r instanceof PrecheckFailure ? `${r.code}: ${r.detail}` : '');
  return r as ParsedToken;
};

test('duplicate detector: top-level, nested, and not across sibling objects or array items', () => {
  assert.equal(checkMembers('{"a":1,"b":2}'), 'ok');
  assert.equal(checkMembers('{"a":1,"a":2}'), 'duplicate');
  assert.equal(checkMembers('{"x":{"a":1,"b":{"c":1,"c":2}}}'), 'duplicate');
  assert.equal(checkMembers('{"x":{"a":1},"y":{"a":1}}'), 'ok');
  assert.equal(checkMembers('{"a":[{"a":1},{"a":1}],"b":[[{"c":1}],{"c":2}]}'), 'ok');
  assert.equal(checkMembers('[{"a":1,"a":1}]'), 'duplicate');
  assert.equal(checkMembers('{}'), 'ok');
  assert.equal(checkMembers('{"a":{},"b":[],"c":{}}'), 'ok');
  assert.equal(checkMembers('{"a":{},"a":[]}'), 'duplicate');
});

test('duplicate detector: names compare after escape decoding', () => {
  assert.equal(checkMembers('{"ab":1,"a\\u0062":2}'), 'duplicate', '"a\\u0062" is "ab"');
  assert.equal(checkMembers('{"a\\u0062":1,"ab":2}'), 'duplicate');
  assert.equal(checkMembers('{"alg":"RS256","\\u0061\\u006C\\u0067":"none"}'), 'duplicate', 'upper-case hex digits too');
  assert.equal(checkMembers('{"a/b":1,"a\\/b":2}'), 'duplicate', '\\/ is /');
  assert.equal(checkMembers('{"a\\"b":1,"a\\u0022b":2}'), 'duplicate', 'escaped quotes');
  assert.equal(checkMembers('{"\\ud83d\\ude00":1,"😀":2}'), 'duplicate', 'surrogate pair escape vs literal');
  assert.equal(checkMembers('{"a\\\\":1,"a\\\\\\\\":2}'), 'ok', 'a\\ and a\\\\ differ');
  assert.equal(checkMembers('{"Alg":1,"alg":2}'), 'ok', 'names are case-sensitive');
});

test('duplicate detector: string values that look like structure are not names', () => {
  assert.equal(checkMembers('{"a":"{\\"a\\":1,","b":"a"}'), 'ok');
  assert.equal(checkMembers('{"a":"x\\\\","b":"\\"a\\":"}'), 'ok', 'an escaped backslash before the closing quote');
  assert.equal(checkMembers('{"a":"a","b":["a","a"],"c":"b"}'), 'ok');
  assert.equal(checkMembers('{"a":"]}","a":1}'), 'duplicate');
  assert.equal(checkMembers('{"n":-1.5e3,"t":true,"f":false,"z":null,"n":0}'), 'duplicate');
});

test('duplicate detector: nesting is bounded', () => {
  const deep = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  assert.equal(checkMembers(deep(MAX_DEPTH)), 'ok');
  assert.equal(checkMembers(deep(MAX_DEPTH + 1)), 'too_deep');
  assert.equal(checkMembers('['.repeat(MAX_DEPTH + 1) + ']'.repeat(MAX_DEPTH + 1)), 'too_deep');
});

test('precheck: a well-formed token parses; kid is kept as an opaque string; jku/x5u/x5c/jwk are ignored', () => {
  const p = ok(tok('{"alg":"RS256","kid":"../../etc/passwd","typ":"JWT","jku":"http://evil/jwks","x5u":"http://evil/c","x5c":["MII"],"jwk":{"kty":"oct","k":"AAAA"}}'));
  assert.equal(p.alg, 'RS256');
  assert.equal(p.kid, '../../etc/passwd');
  assert.equal(p.typ, 'JWT');
  assert.equal(p.payload.sub, 'a');
});

test('precheck: exactly three segments', () => {
  const t = tok('{"alg":"RS256"}');
  assert.equal(code(t.split('.').slice(0, 2).join('.')), 'authn.jwt.malformed');
  assert.equal(code(`${t}.extra`), 'authn.jwt.malformed');
  assert.equal(code(`${t}.e.f`), 'authn.jwt.malformed', 'a JWE (five segments) is not accepted');
  assert.equal(code('abc'), 'authn.jwt.malformed');
  assert.equal(code('..'), 'authn.jwt.malformed');
  assert.equal(code(`.${t.split('.')[1]}.${SIG}`), 'authn.jwt.malformed', 'empty header');
  assert.equal(code(`${t.split('.')[0]}..${SIG}`), 'authn.jwt.malformed', 'empty payload');
  assert.equal(code(t.replace(/\.[^.]*$/, '.')), 'authn.jwt.malformed', 'empty signature');
});

test('precheck: base64url only, no padding, canonical', () => {
  // A header of 16 bytes encodes to 22 characters + "==" in padded base64.
  const h = '{"alg":"RS256"} ';
  const enc = b64(h);
  const rest = `${b64('{"iss":"x"}')}.${SIG}`;
  assert.equal(code(`${enc}.${rest}`), 'ok');
  assert.equal(code(`${enc}==.${rest}`), 'authn.jwt.malformed', 'padding in the header');
  assert.equal(code(`${enc}.${rest}==`), 'authn.jwt.malformed', 'padding on the signature (jose accepts it)');
  assert.equal(code(`${enc}.${b64('{"iss":"x"}')}=.${SIG}`), 'authn.jwt.malformed', 'padding in the payload');
  assert.equal(code(`${Buffer.from(h).toString('base64').replace(/=+$/, '')}+/.${rest}`), 'authn.jwt.malformed', 'standard base64 characters');
  assert.equal(code(`${enc}.${rest.replace('.', '. ')}`), 'authn.jwt.malformed', 'whitespace');
  assert.equal(code(`${enc}.${rest}%3D`), 'authn.jwt.malformed', 'percent-encoding');
  // 22 chars carry 132 bits for 128: the last character's low 4 bits must be zero.
  const last = enc[enc.length - 1]!;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const tweaked = enc.slice(0, -1) + alphabet[alphabet.indexOf(last) + 1];
  assert.equal(Buffer.from(tweaked, 'base64url').toString(), h, 'Buffer decodes the non-canonical form to the same bytes');
  assert.equal(code(`${tweaked}.${rest}`), 'authn.jwt.malformed', 'non-canonical trailing bits');
  assert.equal(code(`${enc.slice(0, 21)}.${rest}`), 'authn.jwt.malformed', 'a length base64 cannot produce (4n+1)');
});

test('precheck: header and payload must be UTF-8 JSON objects', () => {
  assert.equal(code(tok('not json')), 'authn.jwt.malformed');
  assert.equal(code(tok('["alg","RS256"]')), 'authn.jwt.malformed');
  assert.equal(code(tok('"RS256"')), 'authn.jwt.malformed');
  assert.equal(code(tok('null')), 'authn.jwt.malformed');
  assert.equal(code(tok('{"alg":"RS256"}', '[1]')), 'authn.jwt.malformed');
  assert.equal(code(tok('{"alg":"RS256"}', 'eyJ-nested')), 'authn.jwt.malformed');
  const badUtf8 = `${Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]).toString('base64url')}`;
  assert.equal(code(`${b64('{"alg":"RS256"}')}.${badUtf8}.${SIG}`), 'authn.jwt.malformed');
});

test('precheck: duplicate members in header or payload are refused, whatever jose would pick', () => {
  assert.equal(code(tok('{"alg":"none","alg":"RS256"}')), 'authn.jwt.duplicate_member');
  assert.equal(code(tok('{"alg":"RS256","kid":"a","kid":"b"}')), 'authn.jwt.duplicate_member');
  assert.equal(code(tok('{"alg":"RS256"}', '{"sub":"alice","sub":"admin"}')), 'authn.jwt.duplicate_member');
  assert.equal(code(tok('{"alg":"RS256"}', '{"sub":"alice","s\\u0075b":"admin"}')), 'authn.jwt.duplicate_member');
  assert.equal(code(tok('{"alg":"RS256"}', '{"realm_access":{"roles":["a"],"roles":["admin"]}}')), 'authn.jwt.duplicate_member');
});

test('precheck: alg none is refused in every spelling; alg must be a string', () => {
  for (const alg of ['none', 'None', 'NONE', 'nOnE', 'NoNe']) {
    assert.equal(code(tok(`{"alg":"${alg}"}`)), 'authn.jwt.alg_not_allowed', alg);
    assert.equal(code(tok(`{"alg":"${alg}"}`).replace(/[^.]*$/, '')), 'authn.jwt.alg_not_allowed', `${alg} with an empty signature`);
  }
  assert.equal(code(tok('{"typ":"JWT"}')), 'authn.jwt.malformed');
  assert.equal(code(tok('{"alg":""}')), 'authn.jwt.malformed');
  assert.equal(code(tok('{"alg":["RS256"]}')), 'authn.jwt.malformed');
  assert.equal(code(tok('{"alg":null}')), 'authn.jwt.malformed');
});

test('precheck: any crit is refused (no extension is understood)', () => {
  assert.equal(code(tok('{"alg":"RS256","crit":["exp"],"exp":1}')), 'authn.jwt.crit_unsupported');
  assert.equal(code(tok('{"alg":"RS256","crit":["b64"],"b64":false}')), 'authn.jwt.crit_unsupported');
  assert.equal(code(tok('{"alg":"RS256","crit":[]}')), 'authn.jwt.crit_unsupported');
  assert.equal(code(tok('{"alg":"RS256","crit":"x"}')), 'authn.jwt.crit_unsupported');
});

test('precheck: kid and typ must be strings; kid is bounded', () => {
  assert.equal(code(tok('{"alg":"RS256","kid":5}')), 'authn.jwt.malformed');
  assert.equal(code(tok('{"alg":"RS256","kid":""}')), 'authn.jwt.malformed');
  assert.equal(code(tok(`{"alg":"RS256","kid":"${'k'.repeat(257)}"}`)), 'authn.jwt.malformed');
  assert.equal(code(tok('{"alg":"RS256","typ":{"a":1}}')), 'authn.jwt.malformed');
  assert.equal(code(tok('{"alg":"RS256","enc":"A256GCM"}')), 'authn.jwt.malformed');
});

test('typ normalization: case-insensitive, application/ optional', () => {
  assert.equal(normalizeTyp('at+jwt'), 'at+jwt');
  assert.equal(normalizeTyp('application/AT+JWT'), 'at+jwt');
  assert.equal(normalizeTyp('JWT'), 'jwt');
});
