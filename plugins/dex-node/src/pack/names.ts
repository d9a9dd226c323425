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
