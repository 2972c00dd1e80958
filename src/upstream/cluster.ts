// PLACEHOLDER: cluster = endpoints + load balancer + undici pools.
export interface Cluster {
  readonly name: string;
  close(): Promise<void>;
}
