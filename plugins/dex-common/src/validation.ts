import {
  ConnectorSpec,
  ExposureSpec,
  PackSpec,
  PackSpecInput,
  SERVICE_TYPES,
  SecretKeyRef,
  SpecProblem,
  StaticClientSpec,
  StaticUserSpec,
} from './types';
import {
  AUTHENTICATOR_RELEASES,
  DEFAULT_AUTHENTICATOR_VERSION,
  DEFAULT_DEX_VERSION,
  DEX_RELEASES,
  findAuthenticatorRelease,
  findDexRelease,
  kubernetesServesV1beta1Crds,
} from './versions';

/** What the platform team allows and prefers (the `dex:` section of app-config.yaml). */
export interface PlatformPolicy {
  dex: { allowedVersions: string[]; defaultVersion: string };
  authenticator: { allowedVersions: string[]; defaultVersion: string };
  defaultNamespace?: string;
  ingressClassName?: string;
  serviceType?: PackSpec['dex']['exposure']['serviceType'];
  imageRegistry?: string;
}

export const DEFAULT_POLICY: PlatformPolicy = {
  dex: { allowedVersions: DEX_RELEASES.map(r => r.version), defaultVersion: DEFAULT_DEX_VERSION },
  authenticator: {
    allowedVersions: AUTHENTICATOR_RELEASES.map(r => r.version),
    defaultVersion: DEFAULT_AUTHENTICATOR_VERSION,
  },
};

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const IPV4 = /^(\d{1,3})(\.\d{1,3}){3}$/;
const MAX_FREE_TEXT = 4096;
/** Longest instance name that leaves room for the suffixes objects get (-authenticator-tls). */
const MAX_INSTANCE = 40;
/** Most entries a list may have (hosts, clients, users, ...): each becomes config, SANs or rules. */
const MAX_LIST = 100;
/** Kubernetes' limit on an object's annotations, keys and values together (less room for ours). */
const MAX_ANNOTATIONS_BYTES = 256 * 1024 - 1024;
const MAX_URL = 2048;
/** A JWT claim name: no whitespace (it becomes part of an --oidc-* flag), URLs allowed. */
const CLAIM_NAME = /^[A-Za-z0-9_.:/#-]{1,256}$/;

class Problems {
  readonly list: SpecProblem[] = [];
  add(field: string, message: string) {
    this.list.push({ field, message });
  }
}

function isLoopbackHost(host: string) {
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}

function checkDnsLabel(p: Problems, field: string, value: unknown, what: string, max = 63) {
  if (typeof value !== 'string' || value === '') {
    p.add(field, `${what} is required`);
  } else if (value.length > max || !DNS_LABEL.test(value)) {
    p.add(
      field,
      `"${clip(value)}" is not a valid ${what}: use at most ${max} lowercase letters, digits and '-', starting and ending with a letter or digit (DNS-1123 label)`,
    );
  }
}

function checkHost(p: Problems, field: string, value: unknown) {
  if (typeof value !== 'string' || value === '') {
    p.add(field, 'a host name is required');
  } else if (value.length > 253 || !(DNS_SUBDOMAIN.test(value) || IPV4.test(value))) {
    p.add(
      field,
      `"${clip(value)}" is not a valid host name: use lowercase DNS labels separated by dots (DNS-1123 subdomain), without scheme, port, path or wildcard`,
    );
  }
}

function clip(value: string) {
  const oneLine = JSON.stringify(value).slice(1, -1);
  return oneLine.length > 60 ? `${oneLine.slice(0, 57)}...` : oneLine;
}

function checkUrl(p: Problems, field: string, value: unknown, opts: { httpsOnly: boolean; allowLoopbackHttp?: boolean }) {
  if (typeof value !== 'string' || value === '') {
    p.add(field, 'a URL is required');
    return;
  }
  if (value.length > MAX_URL) {
    p.add(field, `is ${value.length} characters long; keep URLs under ${MAX_URL}`);
    return;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    p.add(field, `"${clip(value)}" is not a URL: write it as https://host[:port]/path`);
    return;
  }
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && opts.allowLoopbackHttp && loopback)) {
    p.add(
      field,
      `"${clip(value)}" must use https${opts.allowLoopbackHttp ? ' (http is allowed only for localhost)' : ''}`,
    );
  }
  if (url.search || url.hash) p.add(field, `"${clip(value)}" must not have a query or fragment`);
}

function checkFreeText(p: Problems, field: string, value: unknown, max = MAX_FREE_TEXT) {
  if (value === undefined) return;
  if (typeof value !== 'string') {
    p.add(field, 'must be a string');
  } else if (value.length > max) {
    p.add(field, `is ${value.length} characters long; keep it under ${max}`);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this rejects
  } else if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(value)) {
    p.add(field, 'contains control characters; remove them');
  }
}

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

/** A list of at most MAX_LIST entries (absent is fine); false when it is too long to check further. */
function checkCount(p: Problems, field: string, value: unknown, what: string, max = MAX_LIST): boolean {
  if (value === undefined) return true;
  if (!Array.isArray(value)) {
    p.add(field, `must be a list of ${what}`);
    return false;
  }
  if (value.length > max) {
    p.add(field, `${value.length} ${what}; at most ${max} are allowed: remove some (or split them over several packs)`);
    return false;
  }
  return true;
}

/** A required string field (required: says what it is), or an optional one; no control characters. */
function checkText(p: Problems, field: string, value: unknown, required: string | undefined, max = 1024) {
  if (value === undefined || value === '') {
    if (required) p.add(field, required);
    return;
  }
  checkFreeText(p, field, value, max);
}

function checkSecretRef(p: Problems, field: string, ref: SecretKeyRef | undefined, required: boolean) {
  if (!ref) {
    if (required) p.add(field, 'a Secret reference {name, key} in the pack namespace is required');
    return;
  }
  if (typeof ref !== 'object') {
    p.add(field, 'must be a Secret reference {name, key}, not an inline value: store the value in a Secret and reference it');
    return;
  }
  if (typeof ref.name !== 'string' || ref.name.length > 253 || !DNS_SUBDOMAIN.test(ref.name)) {
    p.add(`${field}.name`, 'name the Secret (a DNS-1123 subdomain) that holds the value');
  }
  if (typeof ref.key !== 'string' || !/^[-._a-zA-Z0-9]{1,253}$/.test(ref.key)) {
    p.add(`${field}.key`, "name the Secret's key (letters, digits, '-', '_', '.')");
  }
}

function checkReplicas(p: Problems, field: string, value: unknown) {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 20) {
    p.add(field, `must be a whole number from 1 to 20; got ${JSON.stringify(value)}`);
  }
}

function checkExposure(p: Problems, field: string, e: ExposureSpec) {
  if (!SERVICE_TYPES.includes(e.serviceType)) {
    p.add(`${field}.serviceType`, `must be one of ${SERVICE_TYPES.join(', ')}; got ${JSON.stringify(e.serviceType)}`);
  }
  if (checkCount(p, `${field}.extraNames`, e.extraNames, 'extra names')) {
    (e.extraNames ?? []).forEach((n, i) => checkHost(p, `${field}.extraNames[${i}]`, n));
  }
  const ing = e.ingress;
  if (!ing?.enabled) return;
  if (!Array.isArray(ing.hosts) || ing.hosts.length === 0) {
    p.add(`${field}.ingress.hosts`, 'an enabled Ingress needs at least one host; add one or set ingress.enabled: false');
  } else if (checkCount(p, `${field}.ingress.hosts`, ing.hosts, 'hosts')) {
    ing.hosts.forEach((h, i) => checkHost(p, `${field}.ingress.hosts[${i}]`, h));
  }
  if (ing.path !== undefined && (typeof ing.path !== 'string' || !/^\/[-A-Za-z0-9._~/]*$/.test(ing.path))) {
    p.add(`${field}.ingress.path`, `"${clip(String(ing.path))}" must be an absolute path such as / or /dex`);
  }
  if (ing.className !== undefined) checkDnsLabel(p, `${field}.ingress.className`, ing.className, 'IngressClass name');
  if (ing.tlsSecretName !== undefined && (typeof ing.tlsSecretName !== 'string' || !DNS_SUBDOMAIN.test(ing.tlsSecretName))) {
    p.add(`${field}.ingress.tlsSecretName`, 'must name a kubernetes.io/tls Secret (DNS-1123 subdomain)');
  }
  let annotationBytes = 0;
  for (const [k, v] of Object.entries(ing.annotations ?? {})) {
    annotationBytes += utf8Length(k) + (typeof v === 'string' ? utf8Length(v) : 0);
    if (k.length > 253 || !QUALIFIED_NAME.test(k)) {
      p.add(`${field}.ingress.annotations`, `"${clip(k)}" is not a valid annotation key (prefix/name, e.g. nginx.ingress.kubernetes.io/backend-protocol)`);
    }
    checkFreeText(p, `${field}.ingress.annotations["${clip(k)}"]`, v);
  }
  if (annotationBytes > MAX_ANNOTATIONS_BYTES) {
    p.add(
      `${field}.ingress.annotations`,
      `the annotations total ${annotationBytes} bytes; Kubernetes allows 256 KiB per object (the pack keeps 1 KiB for its own): shorten or remove some`,
    );
  }
}

function checkConnector(p: Problems, field: string, c: ConnectorSpec) {
  const anyC = c as unknown as Record<string, unknown>;
  if (typeof c.id !== 'string' || !/^[a-z0-9][-a-z0-9_]{0,62}$/.test(c.id)) {
    p.add(`${field}.id`, "give the connector an id of lowercase letters, digits, '-' or '_'");
  }
  checkFreeText(p, `${field}.name`, c.name, 200);
  for (const inline of ['clientSecret', 'bindPW', 'bindPassword', 'password']) {
    if (inline in anyC) {
      p.add(
        `${field}.${inline}`,
        `secrets are never given inline: store it in a Secret and reference it with ${c.type === 'ldap' ? 'bindPasswordRef' : 'clientSecretRef'}: {name, key}`,
      );
    }
  }
  switch (c.type) {
    case 'github':
      checkText(p, `${field}.clientId`, c.clientId, 'the GitHub OAuth app client id is required', 256);
      checkSecretRef(p, `${field}.clientSecretRef`, c.clientSecretRef, true);
      if (checkCount(p, `${field}.orgs`, c.orgs, 'organisations')) {
        (c.orgs ?? []).forEach((o, i) => checkText(p, `${field}.orgs[${i}]`, o, 'name the organisation', 256));
      }
      break;
    case 'oidc':
      checkUrl(p, `${field}.issuer`, c.issuer, { httpsOnly: true });
      checkText(p, `${field}.clientId`, c.clientId, "the upstream provider's client id is required", 256);
      checkSecretRef(p, `${field}.clientSecretRef`, c.clientSecretRef, true);
      if (checkCount(p, `${field}.scopes`, c.scopes, 'scopes')) {
        (c.scopes ?? []).forEach((o, i) => checkText(p, `${field}.scopes[${i}]`, o, 'name the scope', 256));
      }
      break;
    case 'ldap':
      if (typeof c.host !== 'string' || !/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(c.host)) {
        p.add(`${field}.host`, 'give the LDAP server as host:port, e.g. ldap.example.com:636');
      }
      checkText(p, `${field}.bindDN`, c.bindDN, 'the DN to bind as is required');
      checkSecretRef(p, `${field}.bindPasswordRef`, c.bindPasswordRef, true);
      checkText(p, `${field}.userBaseDN`, c.userBaseDN, 'the base DN to search users under is required');
      for (const k of ['userFilter', 'usernameAttr', 'groupBaseDN'] as const) checkText(p, `${field}.${k}`, c[k], undefined);
      break;
    default:
      p.add(`${field}.type`, `unknown connector type ${JSON.stringify(anyC.type)}; use github, oidc or ldap`);
  }
}

function checkStaticClient(p: Problems, field: string, c: StaticClientSpec) {
  if (typeof c.id !== 'string' || !/^[A-Za-z0-9][-A-Za-z0-9_.]{0,62}$/.test(c.id)) {
    p.add(`${field}.id`, "give the client an id of letters, digits, '-', '_' or '.'");
  }
  checkFreeText(p, `${field}.name`, c.name, 200);
  if (!Array.isArray(c.redirectURIs) || c.redirectURIs.length === 0) {
    if (!c.public) p.add(`${field}.redirectURIs`, 'a confidential client needs at least one redirect URI');
  } else if (checkCount(p, `${field}.redirectURIs`, c.redirectURIs, 'redirect URIs')) {
    c.redirectURIs.forEach((u, i) =>
      checkUrl(p, `${field}.redirectURIs[${i}]`, u, { httpsOnly: true, allowLoopbackHttp: true }),
    );
  }
  if ('secret' in (c as unknown as Record<string, unknown>)) {
    p.add(`${field}.secret`, 'secrets are never given inline: reference a Secret with secretRef: {name, key}, or omit it to have one generated');
  }
  checkSecretRef(p, `${field}.secretRef`, c.secretRef, false);
}

function checkStaticUser(p: Problems, field: string, u: StaticUserSpec, groupsSupported: boolean, dexVersion: string) {
  if (typeof u.email !== 'string' || u.email.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(u.email)) p.add(`${field}.email`, 'a valid email is required');
  if (typeof u.username !== 'string' || !/^[A-Za-z0-9][-A-Za-z0-9_.]{0,62}$/.test(u.username)) {
    p.add(`${field}.username`, "a username of letters, digits, '-', '_' or '.' is required");
  }
  if (!u.passwordRef && !u.hash) p.add(`${field}.passwordRef`, 'reference the password in a Secret (passwordRef), or give a bcrypt hash');
  if ('password' in (u as unknown as Record<string, unknown>)) {
    p.add(`${field}.password`, 'passwords are never given inline: store it in a Secret and reference it with passwordRef: {name, key}');
  }
  if (u.hash !== undefined && !/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(u.hash)) p.add(`${field}.hash`, 'must be a bcrypt hash ($2a$/$2b$/$2y$)');
  checkSecretRef(p, `${field}.passwordRef`, u.passwordRef, false);
  if (checkCount(p, `${field}.groups`, u.groups, 'groups')) {
    (u.groups ?? []).forEach((g, i) => checkText(p, `${field}.groups[${i}]`, g, 'name the group', 256));
  }
  if (u.groups?.length && !groupsSupported) {
    p.add(`${field}.groups`, `static users' groups need Dex 2.45.0 or newer (this spec has ${dexVersion}); upgrade dex.version or remove the groups`);
  }
}

function checkVersion(
  p: Problems,
  field: string,
  version: string,
  what: string,
  known: string[],
  allowed: string[],
) {
  const v = String(version ?? '').replace(/^v/, '');
  if (!known.includes(v)) {
    p.add(field, `${what} ${JSON.stringify(version)} is not in the catalogue; choose one of ${known.join(', ')}`);
  } else if (!allowed.includes(v)) {
    p.add(field, `${what} ${v} is not allowed by the platform (dex: config); allowed: ${allowed.join(', ')}`);
  }
}

/** Fills defaults (from the platform policy) into a spec input. Pure; validates nothing. */
export function withDefaults(input: PackSpecInput, policy: PlatformPolicy = DEFAULT_POLICY): PackSpec {
  const instance = input.instance ?? 'dex';
  const exposure = (e: Partial<ExposureSpec> | undefined): ExposureSpec => ({
    serviceType: e?.serviceType ?? policy.serviceType ?? 'ClusterIP',
    extraNames: e?.extraNames,
    ingress: e?.ingress
      ? { ...e.ingress, className: e.ingress.className ?? policy.ingressClassName, path: e.ingress.path ?? '/', hosts: e.ingress.hosts ?? [] }
      : undefined,
  });
  return {
    cluster: input.cluster,
    namespace: input.namespace ?? policy.defaultNamespace ?? 'dex',
    instance,
    kubernetesId: input.kubernetesId ?? instance,
    dex: {
      version: String(input.dex?.version ?? policy.dex.defaultVersion).replace(/^v/, ''),
      issuerUrl: input.dex?.issuerUrl,
      exposure: exposure(input.dex?.exposure),
      replicas: input.dex?.replicas ?? 1,
      resources: input.dex?.resources,
      storage: input.dex?.storage ?? 'kubernetes',
    },
    authenticator: {
      enabled: input.authenticator?.enabled ?? true,
      version: String(input.authenticator?.version ?? policy.authenticator.defaultVersion).replace(/^v/, ''),
      exposure: exposure(input.authenticator?.exposure),
      replicas: input.authenticator?.replicas ?? 1,
      resources: input.authenticator?.resources,
      url: input.authenticator?.url,
      apiServerUrl: input.authenticator?.apiServerUrl,
      apiServerCaPem: input.authenticator?.apiServerCaPem,
    },
    clientId: input.clientId ?? 'kubernetes',
    connectors: input.connectors ?? [],
    staticClients: input.staticClients ?? [],
    staticUsers: input.staticUsers ?? [],
    claims: {
      usernameClaim: input.claims?.usernameClaim ?? 'email',
      usernamePrefix: input.claims?.usernamePrefix,
      groupsClaim: input.claims?.groupsClaim ?? 'groups',
      groupsPrefix: input.claims?.groupsPrefix ?? 'oidc:',
    },
    expiry: { idTokens: input.expiry?.idTokens ?? '24h', signingKeys: input.expiry?.signingKeys ?? '6h' },
    imageRegistry: input.imageRegistry ?? policy.imageRegistry,
    kubernetesVersion: input.kubernetesVersion,
    apiServerCaFile: input.apiServerCaFile ?? '/etc/kubernetes/pki/dex-ca.crt',
  };
}

/** Every problem of a spec at once, each naming the field and what to change. */
export function validateSpec(spec: PackSpec, policy: PlatformPolicy = DEFAULT_POLICY): SpecProblem[] {
  const p = new Problems();
  if (typeof spec.cluster !== 'string' || spec.cluster.trim() === '') p.add('cluster', 'name the target cluster');
  checkDnsLabel(p, 'namespace', spec.namespace, 'namespace');
  checkDnsLabel(p, 'instance', spec.instance, 'instance name', MAX_INSTANCE);
  if (typeof spec.kubernetesId !== 'string' || spec.kubernetesId.length > 63 || !LABEL_VALUE.test(spec.kubernetesId) || !spec.kubernetesId) {
    p.add('kubernetesId', "must be a label value: at most 63 letters, digits, '-', '_' or '.'");
  }
  if (typeof spec.clientId !== 'string' || !/^[A-Za-z0-9][-A-Za-z0-9_.]{0,62}$/.test(spec.clientId)) {
    p.add('clientId', "use letters, digits, '-', '_' or '.' for the client id");
  }

  checkVersion(p, 'dex.version', spec.dex.version, 'Dex version', DEX_RELEASES.map(r => r.version), policy.dex.allowedVersions);
  const release = findDexRelease(spec.dex.version);
  if (spec.dex.issuerUrl !== undefined) checkUrl(p, 'dex.issuerUrl', spec.dex.issuerUrl, { httpsOnly: true });
  checkExposure(p, 'dex.exposure', spec.dex.exposure);
  checkReplicas(p, 'dex.replicas', spec.dex.replicas);
  if (!['kubernetes', 'memory'].includes(spec.dex.storage)) {
    p.add('dex.storage', `must be kubernetes or memory; got ${JSON.stringify(spec.dex.storage)}`);
  }
  if (spec.dex.storage === 'memory' && spec.dex.replicas > 1) {
    p.add('dex.replicas', 'memory storage is per pod: use dex.storage: kubernetes to run more than one replica');
  }
  if (release && spec.kubernetesVersion && spec.dex.storage === 'kubernetes') {
    if (release.crdApiVersion.endsWith('v1beta1') && !kubernetesServesV1beta1Crds(spec.kubernetesVersion)) {
      p.add(
        'dex.version',
        `Dex ${release.version} creates ${release.crdApiVersion} CRDs, which Kubernetes ${spec.kubernetesVersion} no longer serves (removed in 1.22): choose Dex 2.30.0 or newer, or set dex.storage: memory`,
      );
    }
  }

  const a = spec.authenticator;
  if (a.enabled) {
    checkVersion(
      p,
      'authenticator.version',
      a.version,
      'dex-k8s-authenticator version',
      AUTHENTICATOR_RELEASES.map(r => r.version),
      policy.authenticator.allowedVersions,
    );
    checkExposure(p, 'authenticator.exposure', a.exposure);
    checkReplicas(p, 'authenticator.replicas', a.replicas);
    if (a.url !== undefined) checkUrl(p, 'authenticator.url', a.url, { httpsOnly: true, allowLoopbackHttp: true });
    if (a.apiServerUrl !== undefined) checkUrl(p, 'authenticator.apiServerUrl', a.apiServerUrl, { httpsOnly: true });
    if (a.apiServerCaPem !== undefined && !/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/.test(a.apiServerCaPem)) {
      p.add('authenticator.apiServerCaPem', 'must be a PEM certificate (-----BEGIN CERTIFICATE----- ...)');
    }
  } else if (findAuthenticatorRelease(a.version) === undefined && a.version) {
    // Disabled: its version is irrelevant, so nothing to report.
  }

  // Lists beyond the limits are not checked entry by entry (nor rendered, nor hashed).
  const listed = <T>(field: string, list: T[] | undefined, what: string): T[] =>
    checkCount(p, field, list, what) ? list ?? [] : [];
  const ids = new Set<string>();
  listed('connectors', spec.connectors, 'connectors').forEach((c, i) => {
    checkConnector(p, `connectors[${i}]`, c);
    if (ids.has(c.id)) p.add(`connectors[${i}].id`, `duplicate connector id "${c.id}"; each connector needs its own id`);
    ids.add(c.id);
  });
  const clientIds = new Set<string>([spec.clientId]);
  listed('staticClients', spec.staticClients, 'static clients').forEach((c, i) => {
    checkStaticClient(p, `staticClients[${i}]`, c);
    if (clientIds.has(c.id)) {
      p.add(
        `staticClients[${i}].id`,
        c.id === spec.clientId
          ? `"${c.id}" is the pack's own client (clientId); give this client another id`
          : `duplicate static client id "${c.id}"; each client needs its own id`,
      );
    }
    clientIds.add(c.id);
  });
  const emails = new Set<string>();
  listed('staticUsers', spec.staticUsers, 'static users').forEach((u, i) => {
    checkStaticUser(p, `staticUsers[${i}]`, u, release?.staticUserGroups ?? true, spec.dex.version);
    if (emails.has(u.email)) p.add(`staticUsers[${i}].email`, `duplicate static user "${u.email}"`);
    emails.add(u.email);
  });

  // Claims and prefixes become --oidc-* flags (one per line) and YAML: no whitespace in them.
  for (const [k, what] of [['usernameClaim', 'the username (e.g. email)'], ['groupsClaim', 'groups (e.g. groups)']] as const) {
    const v = spec.claims[k];
    if (!v) p.add(`claims.${k}`, `name the ID token claim to use as ${what}`);
    else if (typeof v !== 'string' || !CLAIM_NAME.test(v)) {
      p.add(`claims.${k}`, `"${clip(String(v))}" is not a claim name: use letters, digits and _ . : / # - without whitespace`);
    }
  }
  for (const k of ['usernamePrefix', 'groupsPrefix'] as const) {
    const v = spec.claims[k];
    checkFreeText(p, `claims.${k}`, v, 64);
    if (typeof v === 'string' && /\s/.test(v)) p.add(`claims.${k}`, `"${clip(v)}" must not contain whitespace (it becomes part of an --oidc-* flag); remove it`);
  }
  for (const k of ['idTokens', 'signingKeys'] as const) {
    if (!GO_DURATION.test(String(spec.expiry[k]))) p.add(`expiry.${k}`, `"${clip(String(spec.expiry[k]))}" is not a duration; write e.g. 24h, 90m or 1h30m`);
  }
  if (spec.imageRegistry !== undefined && !/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)*$/.test(spec.imageRegistry)) {
    p.add('imageRegistry', 'give a registry host with optional path, e.g. registry.example.com/mirror');
  }
  if (typeof spec.apiServerCaFile !== 'string' || !spec.apiServerCaFile.startsWith('/')) {
    p.add('apiServerCaFile', 'must be an absolute path on the control-plane nodes');
  }
  return p.list;
}

/** Defaults + validation: the spec, or every problem with it. */
export function resolveSpec(
  input: PackSpecInput,
  policy: PlatformPolicy = DEFAULT_POLICY,
): { spec: PackSpec; problems: SpecProblem[] } {
  const spec = withDefaults(input, policy);
  return { spec, problems: validateSpec(spec, policy) };
}

/** One readable message listing every problem. */
export function formatProblems(problems: SpecProblem[]): string {
  return `The Dex pack spec has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems
    .map(x => `- ${x.field}: ${x.message}`)
    .join('\n')}`;
}
