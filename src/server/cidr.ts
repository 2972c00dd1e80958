// Trusted-proxy CIDR set. node:net BlockList does the v4/v6 prefix math; we add the mapping of
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, as dual-stack sockets report them) to IPv4.
import { BlockList, isIPv4, isIPv6 } from 'node:net';

export interface CidrSet {
  has(ip: string): boolean;
  readonly size: number;
}

export function parseCidr(cidr: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const slash = cidr.indexOf('/');
  const address = slash === -1 ? cidr : cidr.slice(0, slash);
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
  if (!family) return undefined;
  const max = family === 'ipv4' ? 32 : 128;
  const prefixText = slash === -1 ? String(max) : cidr.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > max) return undefined;
  return { address, prefix, family };
}

export function unmapIp(ip: string): string {
  return ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

export function compileCidrs(cidrs: readonly string[]): CidrSet {
  const list = new BlockList();
  for (const c of cidrs) {
    const p = parseCidr(c);
    if (!p) throw new Error(`invalid CIDR "${c}"`);
    list.addSubnet(p.address, p.prefix, p.family);
  }
  const size = cidrs.length;
  return {
    size,
    has(ip: string): boolean {
      if (size === 0 || !ip) return false;
      const a = unmapIp(ip);
      return list.check(a, isIPv4(a) ? 'ipv4' : 'ipv6');
    },
  };
}
