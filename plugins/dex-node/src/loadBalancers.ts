import { InputError } from '@backstage/errors';
import type { V1Service } from '@kubernetes/client-node';
import {
  PackSpec,
  PlatformPolicy,
  formatProblems,
  validateSpec,
} from '@backstage-dex/plugin-dex-common';
import {
  ApplyResult,
  ObjectResult,
  applyObjects,
  readExisting,
  refuseForeign,
} from './cluster/apply';
import { ClusterClient } from './cluster/client';
import { describeKubeError } from './cluster/errors';
import {
  DEFAULT_LOAD_BALANCER_TIMEOUT_MS,
  loadBalancerAddress,
  waitForLoadBalancerAddress,
} from './cluster/loadBalancer';
import {
  LoadBalancerComponent,
  authenticatorUrl,
  issuerUrl,
  loadBalancerComponents,
  loadBalancerService,
  withLoadBalancerAddresses,
} from './pack/names';
import { PackOwner, stampOwner } from './pack/ownership';
import { renderSkeleton } from './pack/render';

export interface ExposeOptions {
  owner: PackOwner;
  policy?: PlatformPolicy;
  dryRun?: boolean;
  force?: boolean;
  signal?: AbortSignal;
  loadBalancer?: { timeoutMs?: number; pollMs?: number; progressMs?: number };
  log: (message: string) => void;
}

/**
 * A component on a LoadBalancer with no URL given can only be reached at the address its cloud
 * assigns: apply its Service (and the namespace) first, wait for the address and derive the URLs
 * (and so the redirect URI and certificate names) from it. A re-run finds the address at once and
 * derives the same URLs, so nothing changes while the address stays. A dry run writes nothing: it
 * uses an address already assigned, else reports the Service as pending.
 */
export async function exposeLoadBalancers(
  kc: ClusterClient,
  spec: PackSpec,
  options: ExposeOptions,
): Promise<{
  spec: PackSpec;
  applied: ApplyResult;
  pending: string[];
  /** The components whose URL came from their LoadBalancer's address. */
  derivedUrls: LoadBalancerComponent[];
}> {
  const { log, owner } = options;
  const components = loadBalancerComponents(spec);
  const none: ApplyResult = {
    objects: [],
    writes: 0,
    dryRun: Boolean(options.dryRun),
  };
  if (!components.length)
    return { spec, applied: none, pending: [], derivedUrls: [] };
  const services = components.map(c => loadBalancerService(spec, c));
  let applied = none;
  if (!options.dryRun) {
    // Every object the pack may hold, so that none of someone else's is found after the Services.
    const all = renderSkeleton(spec, { secretInputs: true });
    const existing = await readExisting(kc, all);
    // The whole pack's ownership is checked before its Services are written: an object of
    // someone else refuses the run with nothing written, as without a LoadBalancer.
    if (!options.force) refuseForeign(stampOwner(all, owner), existing, owner);
    const early = all.filter(
      o =>
        o.kind === 'Namespace' ||
        (o.kind === 'Service' &&
          services.some(s => s.name === o.metadata.name)),
    );
    applied = await applyObjects(kc, stampOwner(early, owner), {
      owner,
      force: options.force,
      existing,
      log,
    });
  }
  const addresses: Partial<Record<(typeof components)[number], string>> = {};
  const pending: string[] = [];
  const timeoutMs =
    options.loadBalancer?.timeoutMs ?? DEFAULT_LOAD_BALANCER_TIMEOUT_MS;
  // One failed wait ends the others (no poll left running after the run fails).
  const stop = new AbortController();
  const signal = options.signal
    ? AbortSignal.any([options.signal, stop.signal])
    : stop.signal;
  await Promise.all(
    components.map(async (component, i) => {
      const ref = services[i];
      if (options.dryRun) {
        let service;
        try {
          service = await kc.read({
            apiVersion: 'v1',
            kind: 'Service',
            ...ref,
          });
        } catch (e) {
          throw describeKubeError(
            e,
            `reading Service ${ref.namespace}/${ref.name}`,
          );
        }
        const address = loadBalancerAddress(service as V1Service | undefined);
        if (address) addresses[component] = address;
        else pending.push(`${ref.namespace}/${ref.name}`);
        return;
      }
      addresses[component] = await waitForLoadBalancerAddress(kc, ref, {
        timeoutMs,
        pollMs: options.loadBalancer?.pollMs,
        progressMs: options.loadBalancer?.progressMs,
        signal,
        log,
      }).catch(e => {
        stop.abort();
        throw e;
      });
    }),
  );
  const derived = withLoadBalancerAddresses(spec, addresses);
  // The address came from the cluster: the URLs made of it pass the same checks as given ones.
  const problems = validateSpec(derived, options.policy);
  if (problems.length) throw new InputError(formatProblems(problems));
  if (addresses.dex)
    log(`Issuer URL from the LoadBalancer: ${issuerUrl(derived)}`);
  if (addresses.authenticator)
    log(
      `Authenticator URL from the LoadBalancer: ${authenticatorUrl(derived)}`,
    );
  for (const p of pending)
    log(
      `Service ${p} has no LoadBalancer address yet: the URLs derived from it are known only once it is applied and assigned one`,
    );
  return {
    spec: derived,
    applied,
    pending,
    derivedUrls: components.filter(c => addresses[c]),
  };
}

/** The pack's apply result with what the LoadBalancer step wrote before it counted as done there. */
export function withEarlyWrites(
  result: ApplyResult,
  early: ApplyResult,
): ApplyResult {
  const key = (o: ObjectResult) => `${o.kind}/${o.namespace ?? ''}/${o.name}`;
  const written = new Map(
    early.objects
      .filter(o => o.action === 'create' || o.action === 'update')
      .map(o => [key(o), o]),
  );
  if (!written.size) return result;
  return {
    ...result,
    objects: result.objects.map(o =>
      o.action === 'unchanged' && written.has(key(o))
        ? written.get(key(o))!
        : o,
    ),
    writes: result.writes + early.writes,
  };
}
