import { isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { InputError, ServiceUnavailableError } from '@backstage/errors';
import type { V1Service } from '@kubernetes/client-node';
import { isIpv4 } from '@backstage-dex/plugin-dex-common';
import { ClusterClient } from './client';
import { describeKubeError } from './errors';

/**
 * How long a run waits for a cloud to assign a LoadBalancer address by default: cloud load
 * balancers take from seconds to a few minutes.
 *
 * @public
 */
export const DEFAULT_LOAD_BALANCER_TIMEOUT_MS = 300_000;

export interface LoadBalancerWaitOptions {
  /** Give up after this long (the run fails with what to do instead). */
  timeoutMs: number;
  /** Between two reads of the Service (default 1 s). */
  pollMs?: number;
  /** Between two progress lines in the log (default 5 s). */
  progressMs?: number;
  signal?: AbortSignal;
  log?: (message: string) => void;
}

const DNS_NAME =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * The address a cloud wrote into a Service's status.loadBalancer.ingress (the first entry's
 * hostname, else its IP), checked: it becomes part of URLs, flags and certificate names. Undefined
 * while none is assigned.
 */
export function loadBalancerAddress(
  service: V1Service | undefined,
): string | undefined {
  const ingress = service?.status?.loadBalancer?.ingress ?? [];
  const first = ingress.find(i => i.ip || i.hostname);
  if (!first) return undefined;
  const where = `Service ${service?.metadata?.namespace}/${service?.metadata?.name}`;
  // A name is preferred where the cloud gives both (as the status reader does): it outlives the IP.
  if (first.hostname) {
    const host = first.hostname.toLowerCase().replace(/\.$/, '');
    if (host.length <= 253 && DNS_NAME.test(host)) return host;
    throw new InputError(
      `The LoadBalancer hostname of ${where} is ${JSON.stringify(first.hostname.slice(0, 80))}, which is not a DNS name; ` +
        'check the cloud controller, or give dex.issuerUrl (and authenticator.url)',
    );
  }
  const ip = first.ip ?? '';
  if (isIpv4(ip) && isIP(ip) === 4) return ip;
  if (isIP(ip) === 6)
    throw new InputError(
      `The LoadBalancer address of ${where} is the IPv6 address ${ip}, which the pack does not derive URLs from yet: ` +
        'give dex.issuerUrl (and authenticator.url) with a DNS name that resolves to it, or expose the components through an Ingress',
    );
  throw new InputError(
    `The LoadBalancer address of ${where} is ${JSON.stringify(ip.slice(0, 80))}, which is not an IP address; ` +
      'check the cloud controller, or give dex.issuerUrl (and authenticator.url)',
  );
}

/**
 * Waits until the Service has a LoadBalancer address (status.loadBalancer.ingress, written by the
 * cloud's controller), reading it every `pollMs` and logging progress every `progressMs`; fails
 * after `timeoutMs` saying what to do instead, and stops at once when `signal` aborts.
 */
export async function waitForLoadBalancerAddress(
  cluster: ClusterClient,
  ref: { namespace: string; name: string },
  options: LoadBalancerWaitOptions,
): Promise<string> {
  const { timeoutMs, signal, log = () => {} } = options;
  const pollMs = options.pollMs ?? 1000;
  const progressMs = options.progressMs ?? 5000;
  const started = Date.now();
  // The first miss is logged at once, then every progressMs.
  let lastProgress = -Infinity;
  const where = `${ref.namespace}/${ref.name}`;
  for (;;) {
    signal?.throwIfAborted();
    let service: V1Service | undefined;
    try {
      service = (await cluster.read({
        apiVersion: 'v1',
        kind: 'Service',
        ...ref,
      })) as V1Service | undefined;
    } catch (e) {
      throw describeKubeError(e, `reading Service ${where}`);
    }
    const address = loadBalancerAddress(service);
    if (address) {
      log(`LoadBalancer address of ${where}: ${address}`);
      return address;
    }
    const elapsed = Date.now() - started;
    if (elapsed >= timeoutMs) {
      throw new ServiceUnavailableError(
        `Service ${where} got no LoadBalancer address within ${Math.round(timeoutMs / 1000)} s (status.loadBalancer.ingress is empty). ` +
          'Only the namespace and the Service were applied. Either give the URL yourself (dex.issuerUrl, authenticator.url) ' +
          'with a name that reaches the Service, expose the component through an Ingress instead, or ask the platform team for a ' +
          'LoadBalancer controller on this cluster (or a longer dex.apply.loadBalancerTimeoutSeconds).',
      );
    }
    if (Date.now() - lastProgress >= progressMs) {
      lastProgress = Date.now();
      log(
        `waiting for LoadBalancer address of ${where} (${Math.round(elapsed / 1000)} s)`,
      );
    }
    await sleep(Math.min(pollMs, Math.max(0, timeoutMs - elapsed)), undefined, {
      signal,
    });
  }
}
