import type { PackSpec, SpecProblem } from './types';
import { Problems, clip } from './spec/checks';
import {
  AUTHENTICATOR_RELEASES,
  DEFAULT_AUTHENTICATOR_VERSION,
  DEFAULT_DEX_VERSION,
  DEX_RELEASES,
} from './versions';

/**
 * What the platform team allows and prefers (the `dex:` section of app-config.yaml: `dex.policy`,
 * overridden per cluster by `dex.clusters.<name>.policy`). Developers choose within it; nothing
 * here can be set from a template or an action's input.
 *
 * @public
 */
export interface PlatformPolicy {
  dex: { allowedVersions: string[]; defaultVersion: string };
  authenticator: { allowedVersions: string[]; defaultVersion: string };
  defaultNamespace?: string;
  ingressClassName?: string;
  serviceType?: PackSpec['dex']['exposure']['serviceType'];
  /** Registry that replaces the registry of every image (config only, never input). */
  imageRegistry?: string;
  /**
   * Namespace patterns (`*` any run of characters, `?` one) packs may go into; every namespace
   * when absent. The cluster's own namespaces (RESERVED_NAMESPACES) only when listed exactly.
   */
  namespaces?: string[];
  /** IngressClass names the pack's Ingresses may use; any when absent. */
  ingressClasses?: string[];
  /**
   * Annotation key patterns the pack's Ingresses may carry; any when absent. Keys that make an
   * Ingress controller run configuration or change authentication (isRiskyAnnotation) only when
   * listed exactly, whatever the patterns.
   */
  ingressAnnotations?: string[];
  /** Whether connectors may skip verifying their upstream's TLS certificate (LDAP insecureSkipVerify); default no. */
  allowInsecureSkipVerify?: boolean;
  /**
   * Whether an LDAP connector may talk to its server without TLS (insecureNoSSL: the bind password
   * and users' passwords cross the network in clear text); default no.
   */
  allowInsecureNoSSL?: boolean;
  /** Whether a claim prefix may be empty (upstream names reach the kube-apiserver as they are). */
  allowEmptyClaimPrefixes?: boolean;
  /**
   * The label that marks a Secret in a pack's namespace as one the pack may read (connector
   * secrets, passwords). Besides those, a spec may only reference the Secret the pack made from
   * the values given to the action.
   */
  usableSecretLabel: { key: string; value: string };
}

/**
 * The label that marks Secrets a pack may reference when the platform names none
 * (`dex.policy.usableSecretLabel`).
 *
 * @public
 */
export const DEFAULT_USABLE_SECRET_LABEL = {
  key: 'dex.backstage.io/usable-by-packs',
  value: 'true',
};

/**
 * The cluster's own namespaces: a pack goes there only when the policy lists one exactly.
 *
 * @public
 */
export const RESERVED_NAMESPACES = [
  'default',
  'kube-node-lease',
  'kube-public',
  'kube-system',
];

/**
 * Every catalogued version allowed, the newest preferred; any namespace but the reserved ones,
 * any Ingress class and annotation but the risky ones, no empty claim prefixes.
 *
 * @public
 */
export const DEFAULT_POLICY: PlatformPolicy = {
  dex: {
    allowedVersions: DEX_RELEASES.map(r => r.version),
    defaultVersion: DEFAULT_DEX_VERSION,
  },
  authenticator: {
    allowedVersions: AUTHENTICATOR_RELEASES.map(r => r.version),
    defaultVersion: DEFAULT_AUTHENTICATOR_VERSION,
  },
  usableSecretLabel: DEFAULT_USABLE_SECRET_LABEL,
};

/** Whether a name matches a pattern of `*` (any run of characters) and `?` (one character). */
export function matchesPattern(name: string, pattern: string): boolean {
  const re = pattern
    .split('')
    .map(ch => {
      if (ch === '*') return '.*';
      if (ch === '?') return '.';
      return ch.replace(/[\\^$.+()[\]{}|/]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${re}$`).test(name);
}

/**
 * Ingress annotation keys that let whoever sets them run configuration in a shared Ingress
 * controller (`*snippet*`, e.g. nginx's server-snippet) or change how requests are authenticated
 * (`auth-*`, e.g. auth-url): refused unless the policy lists the key exactly.
 *
 * @public
 */
export function isRiskyAnnotation(key: string): boolean {
  const name = key.slice(key.indexOf('/') + 1).toLowerCase();
  return name.includes('snippet') || name.startsWith('auth-');
}

/** Where a policy setting is configured, for messages. */
function configKey(cluster: string, setting: string) {
  return `dex.policy.${setting} (or dex.clusters.${cluster || '<cluster>'}.policy.${setting})`;
}

function checkNamespace(p: Problems, spec: PackSpec, policy: PlatformPolicy) {
  const ns = spec.namespace;
  if (!ns) return;
  const listed = policy.namespaces;
  if (RESERVED_NAMESPACES.includes(ns)) {
    if (!listed?.includes(ns))
      p.add(
        'namespace',
        `"${ns}" is one of the cluster's own namespaces (${RESERVED_NAMESPACES.join(', ')}): choose another namespace; the platform team can allow it by listing "${ns}" exactly in ${configKey(spec.cluster, 'namespaces')}`,
      );
    return;
  }
  if (listed && !listed.some(pattern => matchesPattern(ns, pattern)))
    p.add(
      'namespace',
      `namespace "${ns}" is not allowed by the platform on cluster "${spec.cluster}": choose one matching ${listed.map(x => JSON.stringify(x)).join(', ') || '(none)'} (${configKey(spec.cluster, 'namespaces')})`,
    );
}

function checkIngress(
  p: Problems,
  field: string,
  ingress: PackSpec['dex']['exposure']['ingress'],
  spec: PackSpec,
  policy: PlatformPolicy,
) {
  if (!ingress?.enabled) return;
  const classes = policy.ingressClasses;
  if (classes && !classes.includes(ingress.className ?? '')) {
    p.add(
      `${field}.className`,
      ingress.className
        ? `Ingress class "${clip(ingress.className)}" is not allowed by the platform: use one of ${classes.join(', ') || '(none)'} (${configKey(spec.cluster, 'ingressClasses')})`
        : `name an Ingress class: one of ${classes.join(', ') || '(none)'} (${configKey(spec.cluster, 'ingressClasses')})`,
    );
  }
  const allowed = policy.ingressAnnotations;
  for (const key of Object.keys(ingress.annotations ?? {})) {
    const at = `${field}.annotations["${clip(key)}"]`;
    if (isRiskyAnnotation(key)) {
      if (!allowed?.includes(key))
        p.add(
          at,
          `"${clip(key)}" lets the Ingress controller run configuration or change authentication for everyone it serves: remove it; the platform team can allow it only by listing "${clip(key)}" exactly in ${configKey(spec.cluster, 'ingressAnnotations')}`,
        );
    } else if (
      allowed &&
      !allowed.some(pattern => matchesPattern(key, pattern))
    ) {
      p.add(
        at,
        `annotation "${clip(key)}" is not allowed by the platform: remove it, or use one matching ${allowed.map(x => JSON.stringify(x)).join(', ') || '(none)'} (${configKey(spec.cluster, 'ingressAnnotations')})`,
      );
    }
  }
}

function checkEmptyPrefixes(
  p: Problems,
  spec: PackSpec,
  policy: PlatformPolicy,
) {
  if (policy.allowEmptyClaimPrefixes) return;
  const { usernamePrefix, groupsPrefix } = spec.claims;
  // `--oidc-username-prefix=-` is the kube-apiserver's spelling of "no prefix".
  if (usernamePrefix === '' || usernamePrefix === '-')
    p.add(
      'claims.usernamePrefix',
      `an empty username prefix lets upstream names reach the kube-apiserver as they are (a user named system:… would be one of the cluster's own): give a prefix such as oidc:, or leave it out; the platform team allows empty prefixes with ${configKey(spec.cluster, 'allowEmptyClaimPrefixes')}`,
    );
  if (groupsPrefix === '')
    p.add(
      'claims.groupsPrefix',
      `an empty groups prefix lets upstream groups reach the kube-apiserver as they are (a group system:masters would be cluster-admin): give a prefix such as oidc:; the platform team allows empty prefixes with ${configKey(spec.cluster, 'allowEmptyClaimPrefixes')}`,
    );
}

/**
 * What the platform policy refuses in a spec: namespace, Ingress classes and annotations, empty
 * claim prefixes (versions are checked with the catalogue, in validation.ts).
 */
export function policyProblems(
  spec: PackSpec,
  policy: PlatformPolicy,
): SpecProblem[] {
  const p = new Problems();
  checkNamespace(p, spec, policy);
  checkIngress(
    p,
    'dex.exposure.ingress',
    spec.dex.exposure.ingress,
    spec,
    policy,
  );
  if (spec.authenticator.enabled)
    checkIngress(
      p,
      'authenticator.exposure.ingress',
      spec.authenticator.exposure.ingress,
      spec,
      policy,
    );
  checkEmptyPrefixes(p, spec, policy);
  return p.list;
}
