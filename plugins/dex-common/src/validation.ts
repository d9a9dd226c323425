import {
  ConnectorSpec,
  ExposureSpec,
  PackSpec,
  PackSpecInput,
  SpecProblem,
} from './types';
import { connectorSecretRefs } from './connectors';
import { KUBECTL_CLIENT_ID } from './constants';
import { Problems } from './spec/checks';
import { normalizeVersion } from './spec/patterns';
import { parseWithProblems } from './spec/problems';
import { ExposureInput, packSpecInputSchema } from './spec/schema';
import {
  AUTHENTICATOR_RELEASES,
  DEX_RELEASES,
  defaultDexStorage,
  findDexRelease,
  kubernetesServesV1Crds,
} from './versions';
import { DEFAULT_POLICY, PlatformPolicy, policyProblems } from './policy';

const CONNECTOR_NAMES: Record<ConnectorSpec['type'], string> = {
  github: 'GitHub',
  gitlab: 'GitLab',
  microsoft: 'Microsoft',
  google: 'Google',
  oidc: 'OIDC',
  oauth: 'OAuth',
  saml: 'SAML',
  ldap: 'LDAP',
};

const listOf = <T>(value: T[] | undefined): T[] =>
  Array.isArray(value) ? value : [];

/**
 * Fills defaults (from the platform policy) into a spec input. Pure; validates nothing.
 *
 * @public
 */
export function withDefaults(
  input: PackSpecInput,
  policy: PlatformPolicy = DEFAULT_POLICY,
): PackSpec {
  const instance = input.instance ?? 'dex';
  const exposure = (e: ExposureInput | undefined): ExposureSpec => ({
    serviceType: e?.serviceType ?? policy.serviceType ?? 'ClusterIP',
    extraNames: e?.extraNames,
    ingress: e?.ingress
      ? {
          ...e.ingress,
          className: e.ingress.className ?? policy.ingressClassName,
          path: e.ingress.path ?? '/',
          hosts: e.ingress.hosts ?? [],
        }
      : undefined,
  });
  return {
    cluster: input.cluster,
    namespace: input.namespace ?? policy.defaultNamespace ?? 'dex',
    instance,
    kubernetesId: input.kubernetesId ?? instance,
    dex: {
      version: normalizeVersion(
        input.dex?.version ?? policy.dex.defaultVersion,
      ),
      issuerUrl: input.dex?.issuerUrl,
      exposure: exposure(input.dex?.exposure),
      replicas: input.dex?.replicas ?? 1,
      resources: input.dex?.resources,
      storage:
        input.dex?.storage ??
        defaultDexStorage(
          normalizeVersion(input.dex?.version ?? policy.dex.defaultVersion),
          input.kubernetesVersion,
        ).storage,
    },
    authenticator: {
      enabled: input.authenticator?.enabled ?? true,
      version: normalizeVersion(
        input.authenticator?.version ?? policy.authenticator.defaultVersion,
      ),
      exposure: exposure(input.authenticator?.exposure),
      replicas: input.authenticator?.replicas ?? 1,
      resources: input.authenticator?.resources,
      url: input.authenticator?.url,
      apiServerUrl: input.authenticator?.apiServerUrl,
      apiServerCaPem: input.authenticator?.apiServerCaPem,
    },
    clientId: input.clientId ?? 'kubernetes',
    connectors: listOf(input.connectors).map(c => ({
      ...c,
      id: c.id ?? c.type,
      name: c.name ?? CONNECTOR_NAMES[c.type] ?? String(c.type),
    })) as ConnectorSpec[],
    staticClients: listOf(input.staticClients),
    staticUsers: listOf(input.staticUsers),
    claims: {
      usernameClaim: input.claims?.usernameClaim ?? 'email',
      usernamePrefix: input.claims?.usernamePrefix,
      groupsClaim: input.claims?.groupsClaim ?? 'groups',
      groupsPrefix: input.claims?.groupsPrefix ?? 'oidc:',
    },
    expiry: {
      idTokens: input.expiry?.idTokens ?? '24h',
      signingKeys: input.expiry?.signingKeys ?? '6h',
    },
    // Only the platform chooses where images come from (config, never input).
    imageRegistry: policy.imageRegistry,
    kubernetesVersion: input.kubernetesVersion,
    apiServerCaFile: input.apiServerCaFile ?? '/etc/kubernetes/pki/dex-ca.crt',
  };
}

function checkVersion(
  p: Problems,
  field: string,
  version: string,
  what: string,
  known: string[],
  allowed: string[],
) {
  const v = normalizeVersion(version);
  if (!known.includes(v)) {
    p.add(
      field,
      `${what} ${JSON.stringify(version)} is not in the catalogue; choose one of ${known.join(', ')}`,
    );
  } else if (!allowed.includes(v)) {
    p.add(
      field,
      `${what} ${v} is not allowed by the platform (dex: config); allowed: ${allowed.join(', ')}`,
    );
  }
}

function checkIngressHosts(
  p: Problems,
  field: string,
  e: ExposureSpec | undefined,
) {
  if (e?.ingress?.enabled && !e.ingress.hosts?.length) {
    p.add(
      `${field}.ingress.hosts`,
      'an enabled Ingress needs at least one host; add one or set ingress.enabled: false',
    );
  }
}

/** The string values of a connector's settings, with their field paths (references excluded). */
function settingStrings(
  value: unknown,
  field: string,
  top = true,
): { field: string; value: string }[] {
  if (typeof value === 'string') return [{ field, value }];
  if (Array.isArray(value))
    return value.flatMap((v, i) => settingStrings(v, `${field}[${i}]`, false));
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).flatMap(([k, v]) =>
      // References are not settings; a connector's id and name sit outside its config.
      k.endsWith('Ref') || (top && (k === 'id' || k === 'name'))
        ? []
        : settingStrings(v, `${field}.${k}`, false),
    );
  return [];
}

/** A connector against its Dex release and the platform's policy. */
function checkConnector(
  p: Problems,
  field: string,
  c: ConnectorSpec,
  spec: PackSpec,
  policy: PlatformPolicy,
) {
  const release = findDexRelease(spec.dex.version);
  if (release && !release.connectors.includes(c.type)) {
    const since = DEX_RELEASES.filter(r => r.connectors.includes(c.type))
      .map(r => r.version)
      .reverse()[0];
    p.add(
      `${field}.type`,
      `Dex ${release.version} has no ${c.type} connector${since ? ` (the oldest catalogued release with it is ${since})` : ''}: choose a newer dex.version or another connector`,
    );
  }
  if (
    release &&
    connectorSecretRefs(c).rootCA &&
    release.connectors.includes(c.type) &&
    !release.connectorRootCA.includes(c.type)
  ) {
    const since = DEX_RELEASES.filter(r => r.connectorRootCA.includes(c.type))
      .map(r => r.version)
      .reverse()[0];
    p.add(
      `${field}.rootCARef`,
      `Dex ${release.version}'s ${c.type} connector cannot take a CA${since ? ` (the oldest catalogued release that can is ${since})` : ''}: choose a newer dex.version, or remove rootCARef (the image's system CAs are used)`,
    );
  }
  // Every Dex version expands $NAME in connector settings from its environment (that is how the
  // referenced secrets reach it), so a "$" in a setting would be replaced, not kept.
  for (const s of settingStrings(c, field)) {
    if (s.value.includes('$'))
      p.add(
        s.field,
        'must not contain "$": Dex replaces $NAME in connector settings with environment variables; remove it',
      );
  }
  if (
    c.type === 'microsoft' &&
    c.groups?.length &&
    ['common', 'organizations', 'consumers'].includes(c.tenant ?? 'common')
  )
    p.add(
      `${field}.groups`,
      "Dex reads Microsoft groups only for a tenant of one organisation (not common, organizations or consumers): set tenant to your tenant's id or domain, or remove groups",
    );
  if (c.type === 'ldap') {
    if (c.insecureSkipVerify && !policy.allowInsecureSkipVerify)
      p.add(
        `${field}.insecureSkipVerify`,
        "the platform does not allow skipping the LDAP server's certificate check (dex.connectors.allowInsecureSkipVerify); give its CA with rootCARef instead",
      );
    if (c.insecureNoSSL && !policy.allowInsecureNoSSL)
      p.add(
        `${field}.insecureNoSSL`,
        "the platform does not allow LDAP without TLS, which sends the bind password and every user's password in clear text (dex.connectors.allowInsecureNoSSL); use TLS (ldaps, the default, or startTLS) and give the server's CA with rootCARef",
      );
    if (c.insecureNoSSL && (c.startTLS || c.rootCARef || c.insecureSkipVerify))
      p.add(
        `${field}.insecureNoSSL`,
        'insecureNoSSL connects without TLS, so startTLS, rootCARef and insecureSkipVerify would not apply: remove insecureNoSSL or the TLS settings',
      );
  }
}

/**
 * What the schema cannot say: rules between fields, the version catalogue's constraints and the
 * platform's policy.
 */
function ruleProblems(spec: PackSpec, policy: PlatformPolicy): SpecProblem[] {
  const p = new Problems();
  // Empty in an input means "the default"; in a spec, these must have a value.
  if (!spec.namespace) p.add('namespace', 'namespace is required');
  if (!spec.instance) p.add('instance', 'instance name is required');
  checkVersion(
    p,
    'dex.version',
    spec.dex.version,
    'Dex version',
    DEX_RELEASES.map(r => r.version),
    policy.dex.allowedVersions,
  );
  const release = findDexRelease(spec.dex.version);
  checkIngressHosts(p, 'dex.exposure', spec.dex.exposure);
  if (spec.dex.storage === 'memory' && spec.dex.replicas > 1) {
    p.add(
      'dex.replicas',
      'memory storage is per pod: use dex.storage: kubernetes to run more than one replica',
    );
  }
  // The pack installs Dex's CRDs as apiextensions.k8s.io/v1 (Kubernetes 1.16+), whatever CRD
  // version the Dex release would create itself: with them in place every release only lists them.
  if (
    spec.kubernetesVersion &&
    spec.dex.storage === 'kubernetes' &&
    !kubernetesServesV1Crds(spec.kubernetesVersion)
  ) {
    p.add(
      'dex.storage',
      `kubernetes storage needs CustomResourceDefinitions of apiextensions.k8s.io/v1, which Kubernetes ${spec.kubernetesVersion} does not serve (from 1.16): set dex.storage: memory`,
    );
  }
  // A disabled authenticator's version and exposure are not used, so not held against the policy.
  if (spec.authenticator.enabled) {
    checkVersion(
      p,
      'authenticator.version',
      spec.authenticator.version,
      'dex-k8s-authenticator version',
      AUTHENTICATOR_RELEASES.map(r => r.version),
      policy.authenticator.allowedVersions,
    );
    checkIngressHosts(p, 'authenticator.exposure', spec.authenticator.exposure);
  }

  const ids = new Set<string>();
  spec.connectors.forEach((c, i) => {
    if (ids.has(c.id))
      p.add(
        `connectors[${i}].id`,
        `duplicate connector id "${c.id}"; each connector needs its own id`,
      );
    ids.add(c.id);
    checkConnector(p, `connectors[${i}]`, c, spec, policy);
  });
  if (spec.clientId === KUBECTL_CLIENT_ID) {
    p.add(
      'clientId',
      `"${KUBECTL_CLIENT_ID}" is the pack's public client for kubectl (kubelogin); choose another clientId`,
    );
  }
  const clientIds = new Set<string>([spec.clientId, KUBECTL_CLIENT_ID]);
  spec.staticClients.forEach((c, i) => {
    if (!c.public && !c.redirectURIs?.length) {
      p.add(
        `staticClients[${i}].redirectURIs`,
        'a confidential client needs at least one redirect URI',
      );
    }
    if (clientIds.has(c.id)) {
      let why = `duplicate static client id "${c.id}"; each client needs its own id`;
      if (c.id === spec.clientId)
        why = `"${c.id}" is the pack's own client (clientId); give this client another id`;
      else if (c.id === KUBECTL_CLIENT_ID)
        why = `"${c.id}" is the pack's public client for kubectl (kubelogin); give this client another id`;
      p.add(`staticClients[${i}].id`, why);
    }
    clientIds.add(c.id);
  });
  const groupsSupported = release?.staticUserGroups ?? true;
  const emails = new Set<string>();
  spec.staticUsers.forEach((u, i) => {
    if (!u.passwordRef && !u.hash) {
      p.add(
        `staticUsers[${i}].passwordRef`,
        'reference the password in a Secret (passwordRef), or give a bcrypt hash',
      );
    }
    if (u.groups?.length && !groupsSupported) {
      p.add(
        `staticUsers[${i}].groups`,
        `static users' groups need Dex 2.45.0 or newer (this spec has ${spec.dex.version}); upgrade dex.version or remove the groups`,
      );
    }
    if (emails.has(u.email))
      p.add(`staticUsers[${i}].email`, `duplicate static user "${u.email}"`);
    emails.add(u.email);
  });
  return [...p.list, ...policyProblems(spec, policy)];
}

/** The schema's problems, then the rules' (those that can be checked on what is there). */
function allProblems(
  schemaFound: SpecProblem[],
  spec: PackSpec,
  policy: PlatformPolicy,
): SpecProblem[] {
  const problems = schemaFound;
  let rules: SpecProblem[] = [];
  try {
    rules = ruleProblems(spec, policy);
  } catch {
    // A spec the schema refused may lack what a rule reads; the schema's problems say what to fix.
  }
  const seen = new Set(problems.map(x => `${x.field}\n${x.message}`));
  return [
    ...problems,
    ...rules.filter(x => !seen.has(`${x.field}\n${x.message}`)),
  ];
}

/**
 * Every problem of a spec at once, each naming the field and what to change.
 *
 * @public
 */
export function validateSpec(
  spec: PackSpec,
  policy: PlatformPolicy = DEFAULT_POLICY,
): SpecProblem[] {
  // The registry is filled in from the policy (withDefaults), not part of the spec's schema.
  const { imageRegistry, ...written } = spec;
  const problems = parseWithProblems(packSpecInputSchema, written).problems;
  if (imageRegistry !== policy.imageRegistry)
    problems.push({
      field: 'imageRegistry',
      message: `the image registry is chosen by the platform (dex.policy.imageRegistry): ${JSON.stringify(imageRegistry ?? null)} is not the platform's ${JSON.stringify(policy.imageRegistry ?? null)}`,
    });
  return allProblems(problems, spec, policy);
}

/**
 * Schema, defaults and rules: the spec, or every problem with it. Takes the spec as read (from
 * YAML or the action's input), so anything may be wrong with it.
 *
 * @public
 */
export function resolveSpec(
  input: unknown,
  policy: PlatformPolicy = DEFAULT_POLICY,
): { spec: PackSpec; problems: SpecProblem[] } {
  const { data, problems } = parseWithProblems(
    packSpecInputSchema,
    input ?? {},
  );
  // With problems, the defaults go onto the input as it is, for the rules that can still be checked.
  const object =
    data ??
    (typeof input === 'object' && input !== null && !Array.isArray(input)
      ? input
      : {});
  const spec = withDefaults(object as PackSpecInput, policy);
  return { spec, problems: allProblems(problems, spec, policy) };
}

/**
 * One readable message listing every problem.
 *
 * @public
 */
export function formatProblems(problems: SpecProblem[]): string {
  return `The Dex pack spec has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems
    .map(x => `- ${x.field}: ${x.message}`)
    .join('\n')}`;
}
