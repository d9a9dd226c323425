/**
 * The name and value patterns Kubernetes and Dex accept, and the limits the pack keeps to. One
 * definition each, used by the spec schema, the checks and the renderer.
 */

/** A DNS-1123 label: namespaces, instance names, IngressClass names. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A DNS-1123 subdomain: host names, Secret names. */
export const DNS_SUBDOMAIN =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A Kubernetes label value (may be empty). */
export const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
/** A qualified name (annotation or label key): optional DNS-subdomain prefix and a name. */
export const QUALIFIED_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/** A dotted-quad IPv4 address (the certificate takes it as an IP SAN). */
export const IPV4 = /^(\d{1,3})(\.\d{1,3}){3}$/;
/** A Go duration such as 24h or 1h30m. */
export const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
/** A JWT claim name: no whitespace (it becomes part of an --oidc-* flag), URLs allowed. */
export const CLAIM_NAME = /^[A-Za-z0-9_.:/#-]{1,256}$/;
/** An OAuth client id or a user name: what Dex and the flags take without quoting. */
export const CLIENT_ID = /^[A-Za-z0-9][-A-Za-z0-9_.]{0,62}$/;
/** A connector id. */
export const CONNECTOR_ID = /^[a-z0-9][-a-z0-9_]{0,62}$/;
/** A key inside a Secret. */
export const SECRET_KEY = /^[-._a-zA-Z0-9]{1,253}$/;
/** A bcrypt hash ($2a$, $2b$ or $2y$). */
export const BCRYPT_HASH = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;
/** An image registry host with an optional path, e.g. registry.example.com/mirror. */
export const IMAGE_REGISTRY = /^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)*$/;
/** A Kubernetes version as gitVersion writes it (v1.35.4, v1.30.0-rc.1+k3s1). */
export const KUBERNETES_VERSION =
  /^v?\d+\.\d+(\.\d+)?([-+][0-9A-Za-z.+-]{1,64})?$/;
/**
 * An absolute path on a node made of plain characters (it becomes a kube-apiserver flag and a
 * file name): no whitespace, quotes or shell characters.
 */
export const NODE_PATH = /^(\/[A-Za-z0-9._+@=,-]+)+$/;
/**
 * Whitespace (any Unicode space or line break) and control characters: never part of a value that
 * becomes a flag, a URL or a path (a newline there would start a flag of its own).
 *
 * @public
 */
export const WHITESPACE_OR_CONTROL =
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this finds
  /[\s\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029\ufeff]/;

/** Longest free text (annotation values, names shown on login pages). */
export const MAX_FREE_TEXT = 4096;
/** Longest instance name that leaves room for the suffixes objects get (-authenticator-tls). */
export const MAX_INSTANCE = 40;
/** Most entries a list may have (hosts, clients, users, ...): each becomes config, SANs or rules. */
export const MAX_LIST = 100;
/** Kubernetes' limit on an object's annotations, keys and values together (less room for ours). */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024 - 1024;
/** Longest URL. */
export const MAX_URL = 2048;

/**
 * A version as the catalogue writes it: without a leading "v".
 *
 * @public
 */
export function normalizeVersion(version: unknown): string {
  return String(version ?? '').replace(/^v/, '');
}

/**
 * Whether a value can be a Kubernetes label value (at most 63 characters).
 *
 * @public
 */
export function isLabelValue(value: string): boolean {
  return value.length <= 63 && LABEL_VALUE.test(value);
}

/**
 * Whether a name is a dotted-quad IPv4 address (a certificate takes it as an IP SAN, not a DNS name).
 *
 * @public
 */
export function isIpv4(value: string): boolean {
  return IPV4.test(value);
}

/**
 * Whether a value is a registry host with an optional path (e.g. registry.example.com/mirror).
 *
 * @public
 */
export function isImageRegistry(value: string): boolean {
  return value.length <= 255 && IMAGE_REGISTRY.test(value);
}
