import {
  ExposureSpec,
  LABEL_COMPONENT,
  LABEL_INSTANCE,
  LABEL_KUBERNETES_ID,
  LABEL_MANAGED_BY,
  LABEL_NAME,
  LABEL_PART_OF,
  LABEL_VERSION,
  MANAGED_BY,
  PART_OF,
  PackSpec,
} from '@backstage-dex/plugin-dex-common';

export const DEX_HTTPS_PORT = 5556;
export const DEX_TELEMETRY_PORT = 5558;
export const AUTHENTICATOR_PORT = 5555;

/** Names of every object of a pack, derived from the instance name. */
export function objectNames(spec: PackSpec) {
  const i = spec.instance;
  return {
    serviceAccount: i,
    role: i,
    caSecret: `${i}-ca`,
    tlsSecret: `${i}-tls`,
    clientsSecret: `${i}-clients`,
    configSecret: `${i}-config`,
    /** Values given to the action as secret inputs (the form's secret fields), for the spec to reference. */
    secretInputs: `${i}-secret-inputs`,
    dexDeployment: i,
    dexService: i,
    dexIngress: i,
    authenticator: `${i}-authenticator`,
    authenticatorTlsSecret: `${i}-authenticator-tls`,
    authenticatorConfigMap: `${i}-authenticator`,
    apiServerConfigMap: `${i}-apiserver-settings`,
    certificatesConfigMap: `${i}-certificates`,
  };
}

export type Component = 'dex' | 'authenticator' | 'shared';

/** The labels DESIGN.md requires on every object, plus name/component for selectors. */
export function labels(
  spec: PackSpec,
  component: Component,
): Record<string, string> {
  const base: Record<string, string> = {
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_PART_OF]: PART_OF,
    [LABEL_INSTANCE]: spec.instance,
    [LABEL_VERSION]:
      component === 'authenticator'
        ? spec.authenticator.version
        : spec.dex.version,
    [LABEL_KUBERNETES_ID]: spec.kubernetesId,
  };
  if (component === 'dex') {
    base[LABEL_NAME] = 'dex';
    base[LABEL_COMPONENT] = 'identity-provider';
  } else if (component === 'authenticator') {
    base[LABEL_NAME] = 'dex-k8s-authenticator';
    base[LABEL_COMPONENT] = 'authenticator';
  }
  return base;
}

/** Selector labels: stable across versions (no version label, which changes on upgrade). */
export function selector(
  spec: PackSpec,
  component: 'dex' | 'authenticator',
): Record<string, string> {
  return {
    [LABEL_INSTANCE]: spec.instance,
    [LABEL_NAME]: component === 'dex' ? 'dex' : 'dex-k8s-authenticator',
  };
}

function trimSlash(path: string) {
  return path === '/' ? '' : path.replace(/\/$/, '');
}

/**
 * A URL as the pack writes it everywhere (Dex's issuer, flags, redirect URIs): parsed and
 * serialised again (lowercase host, default port dropped, escapes normalised), no trailing slash.
 */
export function normalizeUrl(url: string): string {
  return new URL(url).href.replace(/\/$/, '');
}

/** The issuer URL: explicit, else the first Dex Ingress host, else the Service's cluster DNS name. */
export function issuerUrl(spec: PackSpec): string {
  if (spec.dex.issuerUrl) return normalizeUrl(spec.dex.issuerUrl);
  const ing = spec.dex.exposure.ingress;
  if (ing?.enabled && ing.hosts.length)
    return `https://${ing.hosts[0]}${trimSlash(ing.path ?? '/')}`;
  const n = objectNames(spec);
  return `https://${n.dexService}.${spec.namespace}.svc:${DEX_HTTPS_PORT}/dex`;
}

/** The authenticator's public URL, derived the same way. */
export function authenticatorUrl(spec: PackSpec): string {
  if (spec.authenticator.url) return normalizeUrl(spec.authenticator.url);
  const ing = spec.authenticator.exposure.ingress;
  if (ing?.enabled && ing.hosts.length)
    return `https://${ing.hosts[0]}${trimSlash(ing.path ?? '/')}`;
  return `https://${objectNames(spec).authenticator}.${spec.namespace}.svc:${AUTHENTICATOR_PORT}`;
}

/** A component whose public URL comes from its Service's LoadBalancer address. */
export type LoadBalancerComponent = 'dex' | 'authenticator';

/** An Ingress with hosts gives the component its public URL (and takes precedence over the Service). */
function hasIngressHost(e: ExposureSpec): boolean {
  return Boolean(e.ingress?.enabled && e.ingress.hosts.length);
}

/**
 * The components exposed by a LoadBalancer Service with no URL or Ingress host given: their URL
 * can only come from the address the cloud assigns to the Service.
 */
export function loadBalancerComponents(
  spec: PackSpec,
): LoadBalancerComponent[] {
  const found: LoadBalancerComponent[] = [];
  const dex = spec.dex;
  if (
    dex.exposure.serviceType === 'LoadBalancer' &&
    !dex.issuerUrl &&
    !hasIngressHost(dex.exposure)
  )
    found.push('dex');
  const auth = spec.authenticator;
  if (
    auth.enabled &&
    auth.exposure.serviceType === 'LoadBalancer' &&
    !auth.url &&
    !hasIngressHost(auth.exposure)
  )
    found.push('authenticator');
  return found;
}

/**
 * Why a spec cannot be rendered without a cluster: its LoadBalancer components' URLs come from
 * addresses only the cluster knows. Undefined when every URL is known.
 */
export function urlsOnlyTheClusterKnows(spec: PackSpec): string | undefined {
  const components = loadBalancerComponents(spec);
  if (!components.length) return undefined;
  const fields = components.map(c =>
    c === 'dex' ? 'dex.issuerUrl' : 'authenticator.url',
  );
  return (
    `the URL of ${components.map(c => (c === 'dex' ? 'Dex' : 'the authenticator')).join(' and ')} comes from the address the cloud ` +
    `assigns to its LoadBalancer, which only the cluster knows: give ${fields.join(' and ')} (a name that will point at it), ` +
    'expose it through an Ingress host, or use dex:pack:apply, which waits for the address'
  );
}

/** The Service a component's LoadBalancer address is read from. */
export function loadBalancerService(
  spec: PackSpec,
  component: LoadBalancerComponent,
): { namespace: string; name: string } {
  const n = objectNames(spec);
  return {
    namespace: spec.namespace,
    name: component === 'dex' ? n.dexService : n.authenticator,
  };
}

/**
 * The spec with the public URLs of its LoadBalancer components derived from their addresses (an
 * IPv4 address or a DNS name, checked by the caller): the issuer at Dex's Service port under /dex,
 * the authenticator at its port. The redirect URI and the certificates' names follow from them.
 */
export function withLoadBalancerAddresses(
  spec: PackSpec,
  addresses: Partial<Record<LoadBalancerComponent, string>>,
): PackSpec {
  return {
    ...spec,
    dex: addresses.dex
      ? {
          ...spec.dex,
          issuerUrl: `https://${addresses.dex}:${DEX_HTTPS_PORT}/dex`,
        }
      : spec.dex,
    authenticator: addresses.authenticator
      ? {
          ...spec.authenticator,
          url: `https://${addresses.authenticator}:${AUTHENTICATOR_PORT}`,
        }
      : spec.authenticator,
  };
}

/** The authenticator's OAuth2 callback for the pack's cluster. */
export function authenticatorRedirectUri(spec: PackSpec): string {
  return `${authenticatorUrl(spec)}/callback/${spec.cluster}`;
}

function hostOf(url: string) {
  return new URL(url).hostname.replace(/^\[|\]$/g, '');
}

/** Every name a client may use to reach a component: its certificate's SANs. */
function clientNames(
  spec: PackSpec,
  publicUrl: string,
  exposure: ExposureSpec,
  service: string,
): string[] {
  return [
    hostOf(publicUrl),
    ...(exposure.ingress?.enabled ? exposure.ingress.hosts : []),
    ...(exposure.extraNames ?? []),
    service,
    `${service}.${spec.namespace}`,
    `${service}.${spec.namespace}.svc`,
    `${service}.${spec.namespace}.svc.cluster.local`,
  ]
    .filter((v, i, a) => a.indexOf(v) === i)
    .sort();
}

export function dexNames(spec: PackSpec): string[] {
  return clientNames(
    spec,
    issuerUrl(spec),
    spec.dex.exposure,
    objectNames(spec).dexService,
  );
}

export function authenticatorNames(spec: PackSpec): string[] {
  return clientNames(
    spec,
    authenticatorUrl(spec),
    spec.authenticator.exposure,
    objectNames(spec).authenticator,
  );
}
