import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cidrContains, parseCidr, parseIpInto, type Cidr } from './ip.js';

function inBlock(block: string, addr: string): boolean {
  const c = parseCidr(block) as Cidr;
  assert.equal(typeof c, 'object', `${block}: ${String(c)}`);
  const buf = new Uint8Array(16);
  const fam = parseIpInto(addr, buf);
  return fam !== 0 && cidrContains(c, fam, buf);
}

test('CIDR membership: IPv4, IPv6, mapped', () => {
  const cases: [string, string, boolean][] = [
    ['10.0.0.0/8', '10.255.1.2', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['192.168.1.7', '192.168.1.7', true],
    ['192.168.1.7', '192.168.1.8', false],
    ['192.168.1.0/25', '192.168.1.127', true],
    ['192.168.1.0/25', '192.168.1.128', false],
    ['0.0.0.0/0', '1.2.3.4', true],
    ['0.0.0.0/0', '::1', false],
    ['2001:db8::/32', '2001:db8:1::5', true],
    ['2001:db8::/32', '2001:db9::1', false],
    ['::1', '::1', true],
    ['::/0', '2001:db8::1', true],
    ['fe80::/10', 'fe80::1%eth0', true],
    ['2001:db8::/127', '2001:db8::1', true],
    ['2001:db8::/127', '2001:db8::2', false],
    // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; they compare as IPv4.
    ['10.0.0.0/8', '::ffff:10.1.2.3', true],
    ['10.0.0.0/8', '::FFFF:a01:203', true],
    ['::ffff:10.0.0.0/104', '10.9.9.9', true],
    ['::ffff:10.0.0.0/104', '11.9.9.9', false],
    ['2001:db8::/32', '::ffff:10.1.2.3', false],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8', true],
    ['1::', '1:0:0:0:0:0:0:0', true],
  ];
  for (const [block, addr, want] of cases) assert.equal(inBlock(block, addr), want, `${addr} in ${block}`);
});

test('malformed request addresses parse as 0', () => {
  const buf = new Uint8Array(16);
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.4 ', 'a.b.c.d', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '1:', ':1']) {
    assert.equal(parseIpInto(bad, buf), 0, JSON.stringify(bad));
  }
});

test('bad CIDR blocks are errors', () => {
  for (const bad of ['10.0.0.0/33', '10.0.0.0/', '10.0.0/8', '2001:db8::/129', 'example.com', '10.0.0.0/08', '::ffff:10.0.0.0/90']) {
    assert.equal(typeof parseCidr(bad), 'string', bad);
  }
});
