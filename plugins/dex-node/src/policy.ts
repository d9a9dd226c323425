import { Config } from '@backstage/config';
import {
  DEFAULT_POLICY,
  PlatformPolicy,
  ServiceType,
  isImageRegistry,
  isLabelValue,
  normalizeVersion,
} from '@backstage-dex/plugin-dex-common';

/** An annotation/label key: optional DNS-subdomain prefix, a name of at most 63 characters. */
const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** A namespace, IngressClass or annotation-key pattern: plain characters, `*` and `?`. */
const PATTERN = /^[-A-Za-z0-9_.*?/]{1,317}$/;

/**
 * The `dex.policy` settings of one place (the default, or a cluster's override): each key given
 * there replaces the default's.
 */
function readPolicySettings(
  policy: Config | undefined,
  at: string,
): Partial<PlatformPolicy> {
  if (!policy) return {};
  const out: Partial<PlatformPolicy> = {};
  const patterns = (
    key: 'namespaces' | 'ingressClasses' | 'ingressAnnotations',
  ) => {
    const list = policy.getOptionalStringArray(key);
    if (!list) return;
    for (const p of list) {
      if (!PATTERN.test(p))
        throw new Error(
          `${at}.${key}: ${JSON.stringify(p)} is not a pattern; use names with * (any run of characters) and ? (one character)`,
        );
    }
    out[key] = list;
  };
  patterns('namespaces');
  patterns('ingressClasses');
  patterns('ingressAnnotations');
  const registry = policy.getOptionalString('imageRegistry');
  if (registry !== undefined) {
    if (!isImageRegistry(registry))
      throw new Error(
        `${at}.imageRegistry: ${JSON.stringify(registry)} is not a registry; give a host with optional port and path, e.g. registry.example.com/mirror`,
      );
    out.imageRegistry = registry;
  }
  const empty = policy.getOptionalBoolean('allowEmptyClaimPrefixes');
  if (empty !== undefined) out.allowEmptyClaimPrefixes = empty;
  const label = policy.getOptionalConfig('usableSecretLabel');
  if (label) {
    const key = label.getString('key');
    const value = label.getString('value');
    if (!LABEL_KEY.test(key) || !isLabelValue(value) || value === '')
      throw new Error(
        `${at}.usableSecretLabel: ${JSON.stringify(key)}=${JSON.stringify(value)} is not a label; give a label key (e.g. example.com/dex-usable) and a non-empty label value`,
      );
    out.usableSecretLabel = { key, value };
  }
  return out;
}

/**
 * The platform policy from the `dex:` section of app-config (declared in this package's
 * config.d.ts): `dex.policy`, with `dex.clusters.<cluster>.policy` replacing its keys for that
 * cluster. Throws, naming the key, on a setting that cannot be used.
 *
 * @public
 */
export function readPolicy(config: Config, cluster?: string): PlatformPolicy {
  const dex = config.getOptionalConfig('dex');
  if (!dex) return DEFAULT_POLICY;
  if (dex.has('defaults.imageRegistry'))
    throw new Error(
      'dex.defaults.imageRegistry: the image registry is platform policy now; move it to dex.policy.imageRegistry (or dex.clusters.<cluster>.policy.imageRegistry)',
    );
  const versions = (path: string, fallback: PlatformPolicy['dex']) => {
    const allowed =
      dex.getOptionalStringArray(`${path}.allowed`) ?? fallback.allowedVersions;
    const def =
      dex.getOptionalString(`${path}.default`) ??
      (allowed.includes(fallback.defaultVersion)
        ? fallback.defaultVersion
        : allowed[0]);
    return {
      allowedVersions: allowed.map(normalizeVersion),
      defaultVersion: normalizeVersion(def),
    };
  };
  const clusters = dex.getOptionalConfig('clusters');
  const byCluster =
    cluster !== undefined && clusters?.keys().includes(cluster)
      ? clusters.getConfig(cluster).getOptionalConfig('policy')
      : undefined;
  return {
    ...DEFAULT_POLICY,
    dex: versions('versions', DEFAULT_POLICY.dex),
    authenticator: versions(
      'authenticator.versions',
      DEFAULT_POLICY.authenticator,
    ),
    defaultNamespace: dex.getOptionalString('defaults.namespace'),
    ingressClassName: dex.getOptionalString('defaults.ingressClassName'),
    serviceType: dex.getOptionalString('defaults.serviceType') as
      ServiceType | undefined,
    ...readPolicySettings(dex.getOptionalConfig('policy'), 'dex.policy'),
    ...readPolicySettings(byCluster, `dex.clusters.${cluster}.policy`),
    allowInsecureSkipVerify:
      dex.getOptionalBoolean('connectors.allowInsecureSkipVerify') ?? false,
    allowInsecureNoSSL:
      dex.getOptionalBoolean('connectors.allowInsecureNoSSL') ?? false,
  };
}
