import { normalizeVersion } from './spec/patterns';
import { CONNECTOR_TYPES } from './spec/schema';
/**
 * The version catalogue: every Dex and dex-k8s-authenticator release the pack can render, with
 * the constraints of each. The renderer enforces them, so a spec that cannot work on its target
 * fails before anything is applied.
 */

export interface DexRelease {
  version: string;
  image: string;
  /** `oauth2.passwordConnector` (resource-owner password grant) exists from 2.23. */
  passwordGrant: boolean;
  /** From 2.28 health is served on the telemetry port (/healthz/live, /healthz/ready); before, /healthz on the web port. */
  telemetryHealth: boolean;
  /** `staticPasswords[].groups` is read from 2.45. */
  staticUserGroups: boolean;
  /** Before 2.30 Dex's in-cluster storage reads its namespace from a service-account token claim, which bound tokens lack. */
  namespaceFromTokenClaim: boolean;
  /**
   * What the image's ENTRYPOINT is (its Dockerfile): before 2.28 `dex` itself, so the container's
   * args start at `serve`; from 2.28 an entrypoint that runs its args as a command after templating
   * each `*.yaml` argument with gomplate into a new file under /tmp (2.28–2.32 /entrypoint.sh, a
   * shell script; later /usr/local/bin/docker-entrypoint, a Go program).
   */
  imageEntrypoint: 'dex' | 'templating-entrypoint';
  /**
   * The connector types of the spec this release has (server/server.go's ConnectorsConfig): the
   * generic `oauth` connector came with 2.31; the others are in every catalogued release.
   */
  connectors: readonly ConnectorType[];
  /**
   * The LDAP connector's group search matches users by `userMatchers` (a list) from 2.25; 2.21
   * reads `userAttr`/`groupAttr` only (still read, deprecated, by later releases).
   */
  ldapUserMatchers: boolean;
  /**
   * Connectors that read a CA file for their upstream's certificate (ldap `rootCA`; oauth and, from
   * 2.41, oidc `rootCAs`); the others trust the image's system CAs only.
   */
  connectorRootCA: readonly ConnectorType[];
  /**
   * How Dex expands $VARS in connector configs: from 2.43 in each string value; before, in the
   * config's JSON text, so a value with a quote or backslash breaks (or extends) the config.
   */
  connectorEnvPerValue: boolean;
  /**
   * From 2.45 the kubernetes storage takes `crdHandling: check`: it only checks that its CRDs
   * exist (the pack installs them) instead of trying to create them.
   */
  crdHandlingCheck: boolean;
}

/** @public */
export type ConnectorType = (typeof CONNECTOR_TYPES)[number];

export interface AuthenticatorRelease {
  version: string;
  image: string;
}

function semver(v: string): [number, number, number] {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v);
  if (!m) return [0, 0, 0];
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Compares two versions like "2.35.1" or "v1.35.4"; negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const [x, y] = [semver(a), semver(b)];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

function dexRelease(version: string): DexRelease {
  const atLeast = (v: string) => compareVersions(version, v) >= 0;
  return {
    version,
    // Dex's images moved from quay.io to ghcr.io; 2.28 onwards are on ghcr.io.
    image: `${atLeast('2.28.0') ? 'ghcr.io' : 'quay.io'}/dexidp/dex:v${version}`,
    passwordGrant: atLeast('2.23.0'),
    telemetryHealth: atLeast('2.28.0'),
    staticUserGroups: atLeast('2.45.0'),
    namespaceFromTokenClaim: !atLeast('2.30.0'),
    imageEntrypoint: atLeast('2.28.0') ? 'templating-entrypoint' : 'dex',
    connectors: CONNECTOR_TYPES.filter(t => t !== 'oauth' || atLeast('2.31.0')),
    ldapUserMatchers: atLeast('2.25.0'),
    connectorRootCA: [
      'ldap',
      ...(atLeast('2.31.0') ? (['oauth'] as const) : []),
      ...(atLeast('2.41.0') ? (['oidc'] as const) : []),
    ],
    connectorEnvPerValue: atLeast('2.43.0'),
    crdHandlingCheck: atLeast('2.45.0'),
  };
}

/** Newest first. The seed pack's versions (2.35.1 ... 2.21.0) and current releases. */
export const DEX_RELEASES: DexRelease[] = [
  '2.45.1',
  '2.44.0',
  '2.43.1',
  '2.41.1',
  '2.35.1',
  '2.30.0',
  '2.28.0',
  '2.25.0',
  '2.21.0',
].map(dexRelease);

export const AUTHENTICATOR_RELEASES: AuthenticatorRelease[] = [
  '1.4.0',
  '1.2.0',
].map(version => ({
  version,
  image: `mintel/dex-k8s-authenticator:${version}`,
}));

export const DEFAULT_DEX_VERSION = '2.45.1';
export const DEFAULT_AUTHENTICATOR_VERSION = '1.4.0';

export function findDexRelease(version: string): DexRelease | undefined {
  const v = normalizeVersion(version);
  return DEX_RELEASES.find(r => r.version === v);
}

export function findAuthenticatorRelease(
  version: string,
): AuthenticatorRelease | undefined {
  const v = normalizeVersion(version);
  return AUTHENTICATOR_RELEASES.find(r => r.version === v);
}

/** apiextensions.k8s.io/v1 (the CRDs the pack installs) is served from Kubernetes 1.16. */
export function kubernetesServesV1Crds(kubernetesVersion: string): boolean {
  return compareVersions(kubernetesVersion, '1.16.0') >= 0;
}

/** A container's startupProbe is served (on by default) from Kubernetes 1.18 (beta; GA in 1.20). */
export function kubernetesServesStartupProbe(
  kubernetesVersion: string,
): boolean {
  return compareVersions(kubernetesVersion, '1.18.0') >= 0;
}

/**
 * Which storage a Dex release gets when the spec names none: `kubernetes` (its CRDs, which the pack
 * installs) wherever the target serves apiextensions.k8s.io/v1, else `memory`, with the reason,
 * which the action logs. Without a known Kubernetes version, a current one is assumed.
 *
 * @public
 */
export function defaultDexStorage(
  version: string,
  kubernetesVersion?: string,
): { storage: 'kubernetes' | 'memory'; reason?: string } {
  if (kubernetesVersion && !kubernetesServesV1Crds(kubernetesVersion)) {
    return {
      storage: 'memory',
      reason:
        `Dex ${version} keeps its state in memory: its kubernetes storage needs the CustomResourceDefinitions the pack installs ` +
        `(apiextensions.k8s.io/v1), which Kubernetes ${kubernetesVersion} does not serve (from 1.16). ` +
        'Sessions, refresh tokens and signing keys are lost when the pod restarts, and it runs one replica.',
    };
  }
  return { storage: 'kubernetes' };
}

/** The AuthenticationConfiguration apiVersion a Kubernetes version reads, or undefined before 1.30. */
export function authenticationConfigurationApiVersion(
  kubernetesVersion: string,
): string | undefined {
  if (compareVersions(kubernetesVersion, '1.34.0') >= 0)
    return 'apiserver.config.k8s.io/v1';
  if (compareVersions(kubernetesVersion, '1.30.0') >= 0)
    return 'apiserver.config.k8s.io/v1beta1';
  return undefined;
}

/** The version in an image reference's tag ("ghcr.io/dexidp/dex:v2.45.1" -> "2.45.1"). */
export function versionFromImage(image: string): string | undefined {
  // A digest (@sha256:...) is not a tag: only what comes before it names a version.
  const tag = /:([^/:@]+)$/.exec(image.split('@')[0])?.[1];
  return tag ? normalizeVersion(tag) : undefined;
}
