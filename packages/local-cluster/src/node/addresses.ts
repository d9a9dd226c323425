/**
 * Addresses of the local node. Linux routes all of 127.0.0.0/8 to `lo` (in the host's namespace
 * and in every pod's), so a loopback address needs no interface, route or host setting: a listener
 * simply binds it. Each pod's ports listen on a loopback address of its own, and each LoadBalancer
 * Service gets one. Other local clusters on the machine pick from the same ranges at random; a
 * taken address shows as EADDRINUSE and the caller picks another.
 *
 * A Pod IP cannot be a loopback address (EndpointSlice validation refuses 127.0.0.0/8), so pods
 * are given IPs from 10.244.0.0/16, a range nothing on the host routes; the node maps each one to
 * its pod's loopback address, which the LoadBalancers use to reach the endpoint.
 */
import net from 'node:net';

/** Second-octet ranges: pods' ports in 127.64.0.0/10, LoadBalancers in 127.128.0.0/10. */
const RANGES = {
  pod: [64, 127],
  loadBalancer: [128, 191],
} as const;

/** Pod IP -> the loopback address its ports listen on (for this process's nodes). */
export const podHostAddresses = new Map<string, string>();

/** A Pod IP from 10.244.0.0/16 that no pod of this process has. */
export function pickPodIP(): string {
  for (;;) {
    const ip = `10.244.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`;
    if (!podHostAddresses.has(ip)) return ip;
  }
}

const taken = new Set<string>();

/** A random address of the range that this process has not handed out. */
export function pickAddress(kind: keyof typeof RANGES): string {
  const [low, high] = RANGES[kind];
  for (;;) {
    const octets = [
      127,
      low + Math.floor(Math.random() * (high - low + 1)),
      Math.floor(Math.random() * 256),
      1 + Math.floor(Math.random() * 254),
    ];
    const address = octets.join('.');
    if (!taken.has(address)) {
      taken.add(address);
      return address;
    }
  }
}

/** Gives an address back (the pod or Service is gone). */
export function releaseAddress(address: string): void {
  taken.delete(address);
}

/** Claims an address chosen elsewhere (spec.loadBalancerIP); false when this process has it already. */
export function claimAddress(address: string): boolean {
  if (taken.has(address)) return false;
  taken.add(address);
  return true;
}

/** Whether a value is an IPv4 address on loopback (127.0.0.0/8). */
export function isLoopback(address: string): boolean {
  return net.isIPv4(address) && address.startsWith('127.');
}
