import { Config } from '@backstage/config';
import {
  DEFAULT_POLICY,
  PlatformPolicy,
  ServiceType,
  normalizeVersion,
} from '@backstage-dex/plugin-dex-common';

/**
 * The platform policy from the `dex:` section of app-config (declared in this package's config.d.ts).
 *
 * @public
 */
export function readPolicy(config: Config): PlatformPolicy {
  const dex = config.getOptionalConfig('dex');
  if (!dex) return DEFAULT_POLICY;
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
  return {
    dex: versions('versions', DEFAULT_POLICY.dex),
    authenticator: versions(
      'authenticator.versions',
      DEFAULT_POLICY.authenticator,
    ),
    defaultNamespace: dex.getOptionalString('defaults.namespace'),
    ingressClassName: dex.getOptionalString('defaults.ingressClassName'),
    serviceType: dex.getOptionalString('defaults.serviceType') as
      ServiceType | undefined,
    imageRegistry: dex.getOptionalString('defaults.imageRegistry'),
    allowInsecureSkipVerify:
      dex.getOptionalBoolean('connectors.allowInsecureSkipVerify') ?? false,
  };
}
