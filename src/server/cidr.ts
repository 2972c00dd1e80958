// PLACEHOLDER: CIDR set for trusted proxies.
export interface CidrSet {
  has(ip: string): boolean;
}
