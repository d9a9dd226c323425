// zod v3 on purpose: the scaffolder turns action schemas into JSON Schema with zod-to-json-schema,
// which reads v3 schemas; this one schema is the action's input, so it is written in v3.
import { z } from 'zod/v3';
import {
  Problems,
  checkCount,
  checkDnsLabel,
  checkClaimPrefix,
  checkClusterName,
  checkFreeText,
  checkHost,
  checkNodePath,
  checkSecretRef,
  checkText,
  checkUrl,
  clip,
  nearestName,
} from './checks';
import {
  BCRYPT_HASH,
  CLAIM_NAME,
  CLIENT_ID,
  CONNECTOR_ID,
  DNS_SUBDOMAIN,
  GO_DURATION,
  KUBERNETES_VERSION,
  LABEL_VALUE,
  MAX_ANNOTATIONS_BYTES,
  MAX_INSTANCE,
  QUALIFIED_NAME,
} from './patterns';

/** Dotted field paths as the checks write them ('', '.name', '[0]', '["x/y"]') as zod paths. */
function toPath(field: string): (string | number)[] {
  const path: (string | number)[] = [];
  for (const m of field.matchAll(
    /\.([A-Za-z_$][\w$]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]/g,
  )) {
    if (m[1] !== undefined) path.push(m[1]);
    else if (m[2] !== undefined) path.push(Number(m[2]));
    else path.push(JSON.parse(`"${m[3]}"`));
  }
  return path;
}

/** A schema whose values also pass a field check; the check's problems keep its messages. */
function checked<T extends z.ZodTypeAny>(
  schema: T,
  check: (p: Problems, value: z.output<T>) => void,
): z.ZodEffects<T, z.output<T>, z.input<T>> {
  return schema.superRefine((value: z.output<T>, ctx: z.RefinementCtx) => {
    const p = new Problems();
    check(p, value);
    for (const { field, message } of p.list)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message,
        path: toPath(field),
      });
  });
}

/** An empty string or null (a form field left empty) means "not given". */
function optional<T extends z.ZodTypeAny>(
  schema: T,
): z.ZodEffects<z.ZodOptional<T>, z.output<T> | undefined, unknown> {
  return z.preprocess(
    v => (v === '' || v === null ? undefined : v),
    schema.optional(),
  );
}

/**
 * An object that refuses unknown fields, naming the nearest known one; `inline` names fields that
 * are refused because they would carry a secret in clear.
 */
function strictObject<T extends z.ZodRawShape>(
  shape: T,
  description: string,
  inline: Record<string, string> = {},
) {
  const known = Object.keys(shape);
  // A field of a nested object given one level too high (dex.extraNames for dex.exposure.extraNames).
  const nested: Record<string, string> = {};
  for (const [name, field] of Object.entries(shape)) {
    for (const child of Object.keys(objectShape(field)))
      nested[child] ??= `${name}.${child}`;
  }
  return z
    .object(shape, {
      description,
      errorMap: (issue, ctx) => {
        if (issue.code !== z.ZodIssueCode.unrecognized_keys)
          return { message: ctx.defaultError };
        return {
          message: issue.keys
            .map(key => unknownFieldMessage(key, known, inline, nested))
            .join('\n'),
        };
      },
    })
    .strict();
}

/** The fields of an object schema under optional/effects wrappers; none for other schemas. */
function objectShape(schema: z.ZodTypeAny): z.ZodRawShape {
  if (schema instanceof z.ZodObject) return schema.shape;
  if (schema instanceof z.ZodOptional) return objectShape(schema.unwrap());
  if (schema instanceof z.ZodEffects) return objectShape(schema.innerType());
  return {};
}

function unknownFieldMessage(
  key: string,
  known: string[],
  inline: Record<string, string>,
  nested: Record<string, string>,
) {
  if (inline[key]) return inline[key];
  const nearest = nearestName(key, known) ?? nested[key];
  return `unknown field${nearest ? `; did you mean "${nearest}"?` : `; known fields: ${known.join(', ')}`}`;
}

const text = (description: string, max = 1024) =>
  checked(z.string({ description }), (p, v) => checkFreeText(p, '', v, max));
const requiredText = (description: string, required: string, max = 1024) =>
  checked(z.string({ description, required_error: required }), (p, v) =>
    checkText(p, '', v, required, max),
  );
const url = (description: string, opts: { allowLoopbackHttp?: boolean } = {}) =>
  checked(
    z.string({ description, required_error: 'a URL is required' }),
    (p, v) => checkUrl(p, '', v, opts),
  );
const host = (description: string) =>
  checked(z.string({ description }), (p, v) => checkHost(p, '', v));
const list = <T extends z.ZodTypeAny>(
  item: T,
  what: string,
  description: string,
) =>
  // The count is checked before the entries: a list over the limit is not checked entry by entry.
  checked(z.array(z.any(), { description }), (p, v) =>
    checkCount(p, '', v, what),
  ).pipe(z.array(item));
/** A string matching a pattern; when required and absent, the message says what to give. */
const pattern = (
  re: RegExp,
  description: string,
  message: (v: string) => string,
) =>
  checked(z.string({ description, required_error: message('') }), (p, v) => {
    if (!re.test(v)) p.add('', message(v));
  });
const replicas = (description: string) =>
  z.number({ description }).superRefine((v, ctx) => {
    if (!Number.isInteger(v) || v < 1 || v > 20) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `must be a whole number from 1 to 20; got ${JSON.stringify(v)}`,
      });
    }
  });

const NEVER_INLINE =
  'secrets are never given inline: store it in a Secret and reference it with';

/**
 * A key of a Secret in the pack's namespace: secrets are referenced, never inlined.
 *
 * @public
 */
export const secretKeyRefSchema = () =>
  checked(
    strictObject(
      {
        name: z.string({
          description: 'Name of the Secret in the pack namespace',
        }),
        key: z.string({ description: 'Key inside the Secret' }),
      },
      'A key of a Secret in the pack namespace',
    ),
    (p, v) => checkSecretRef(p, '', v),
  );
const secretRef = (description: string) =>
  z
    .any({ description })
    .superRefine((v, ctx) => {
      if (v === undefined) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message:
            'a Secret reference {name, key} in the pack namespace is required',
        });
      } else if (typeof v !== 'object' || v === null) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          message:
            'must be a Secret reference {name, key}, not an inline value: store the value in a Secret and reference it',
        });
      }
    })
    .pipe(secretKeyRefSchema());

/** @public */
export const SERVICE_TYPES = ['ClusterIP', 'LoadBalancer', 'NodePort'] as const;

const ingressSchema = () =>
  strictObject(
    {
      enabled: z.boolean({ description: 'Create an Ingress' }),
      className: optional(
        checked(
          z.string({
            description:
              'spec.ingressClassName; dex.defaults.ingressClassName when absent',
          }),
          (p, v) => checkDnsLabel(p, '', v, 'IngressClass name'),
        ),
      ),
      annotations: checked(
        z.record(z.string(), {
          description: 'Annotations of the Ingress (e.g. cert-manager issuer)',
        }),
        (p, annotations) => {
          let bytes = 0;
          const utf8 = (s: string) => new TextEncoder().encode(s).length;
          for (const [k, v] of Object.entries(annotations)) {
            bytes += utf8(k) + utf8(v);
            if (k.length > 253 || !QUALIFIED_NAME.test(k)) {
              p.add(
                '',
                `"${clip(k)}" is not a valid annotation key (prefix/name, e.g. nginx.ingress.kubernetes.io/backend-protocol)`,
              );
            }
            checkFreeText(p, `["${clip(k)}"]`, v);
          }
          if (bytes > MAX_ANNOTATIONS_BYTES) {
            p.add(
              '',
              `the annotations total ${bytes} bytes; Kubernetes allows 256 KiB per object (the pack keeps 1 KiB for its own): shorten or remove some`,
            );
          }
        },
      ).optional(),
      path: optional(
        pattern(
          /^\/[-A-Za-z0-9._~/]*$/,
          'URL path prefix, "/" by default',
          v => `"${clip(v)}" must be an absolute path such as / or /dex`,
        ),
      ),
      hosts: list(
        host('A host name (DNS-1123 subdomain)'),
        'hosts',
        'Host names; the first one makes the public URL',
      ).optional(),
      tlsSecretName: optional(
        pattern(
          DNS_SUBDOMAIN,
          "kubernetes.io/tls Secret the Ingress terminates TLS with; the pack's own certificate (signed by its CA) when absent",
          () => 'must name a kubernetes.io/tls Secret (DNS-1123 subdomain)',
        ),
      ),
    },
    'An Ingress in front of the component',
  );

const exposureSchema = () =>
  strictObject(
    {
      serviceType: optional(
        z.enum(SERVICE_TYPES, {
          description:
            'Service type; dex.defaults.serviceType (or ClusterIP) when absent',
        }),
      ),
      extraNames: list(
        host('A host name or IP'),
        'extra names',
        "Extra host names or IPs clients use (e.g. a LoadBalancer's DNS name), added to the certificate",
      ).optional(),
      ingress: ingressSchema().optional(),
    },
    'How the component is reached from outside its namespace',
  );

const resourcesSchema = () =>
  strictObject(
    {
      requests: strictObject(
        { cpu: z.string().optional(), memory: z.string().optional() },
        'Resource requests',
      ).optional(),
      limits: strictObject(
        { cpu: z.string().optional(), memory: z.string().optional() },
        'Resource limits',
      ).optional(),
    },
    'Container resources',
  );

const connectorId = () =>
  optional(
    pattern(
      CONNECTOR_ID,
      'Connector id (unique); the type when absent',
      () => "give the connector an id of lowercase letters, digits, '-' or '_'",
    ),
  );
const connectorName = () =>
  optional(
    text(
      'Name shown on the login page; the provider (e.g. GitHub) when absent',
      200,
    ),
  );
const connectorInline = (ref: string) => ({
  clientSecret: `${NEVER_INLINE} ${ref}: {name, key}`,
  bindPW: `${NEVER_INLINE} ${ref}: {name, key}`,
  bindPassword: `${NEVER_INLINE} ${ref}: {name, key}`,
  password: `${NEVER_INLINE} ${ref}: {name, key}`,
});
const clientIdField = (what: string) =>
  requiredText(
    `The ${what} client id`,
    `the ${what} client id is required`,
    256,
  );
const names = (what: string, description: string) =>
  list(
    requiredText(`A ${what}`, `name the ${what}`, 256),
    `${what}s`,
    description,
  ).optional();
const rootCARef = (server: string, since?: string) =>
  secretRef(
    `Secret key holding the PEM CA that signed ${server}'s certificate (mounted into the Dex pod${since ? `; ${since}` : ''}); the image's system CAs when absent`,
  ).optional();
const PEM_CERTIFICATE =
  /^\s*(-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\s*)+$/;

const githubConnectorSchema = strictObject(
  {
    type: z.literal('github'),
    id: connectorId(),
    name: connectorName(),
    clientId: clientIdField('GitHub OAuth app'),
    clientSecretRef: secretRef('Secret key holding the OAuth client secret'),
    orgs: names('organisation', 'Organisations whose members may log in'),
  },
  'Log in with GitHub',
  connectorInline('clientSecretRef'),
);

const gitlabConnectorSchema = strictObject(
  {
    type: z.literal('gitlab'),
    id: connectorId(),
    name: connectorName(),
    baseURL: optional(
      url('The GitLab instance; https://gitlab.com when absent'),
    ),
    clientId: clientIdField('GitLab application'),
    clientSecretRef: secretRef('Secret key holding the OAuth client secret'),
    groups: names('group', 'Groups whose members may log in'),
  },
  'Log in with GitLab',
  connectorInline('clientSecretRef'),
);

const microsoftConnectorSchema = strictObject(
  {
    type: z.literal('microsoft'),
    id: connectorId(),
    name: connectorName(),
    tenant: optional(
      pattern(
        /^[A-Za-z0-9][-A-Za-z0-9.]{0,254}$/,
        'Tenant: common, organizations, consumers, a tenant id or domain; common when absent',
        v =>
          `"${clip(v)}" is not a tenant: use common, organizations, consumers, a tenant id (GUID) or its domain`,
      ),
    ),
    clientId: clientIdField('Microsoft application'),
    clientSecretRef: secretRef('Secret key holding the OAuth client secret'),
    groups: names(
      'group',
      'Groups whose members may log in (needs an organisation tenant)',
    ),
  },
  'Log in with Microsoft (Entra ID)',
  connectorInline('clientSecretRef'),
);

const googleConnectorSchema = strictObject(
  {
    type: z.literal('google'),
    id: connectorId(),
    name: connectorName(),
    clientId: clientIdField('Google OAuth'),
    clientSecretRef: secretRef('Secret key holding the OAuth client secret'),
    hostedDomains: names(
      'domain',
      'Google Workspace domains whose users may log in',
    ),
  },
  'Log in with Google',
  connectorInline('clientSecretRef'),
);

const oidcConnectorSchema = strictObject(
  {
    type: z.literal('oidc'),
    id: connectorId(),
    name: connectorName(),
    issuer: url('The upstream issuer URL (https)'),
    clientId: requiredText(
      "The upstream provider's client id",
      "the upstream provider's client id is required",
      256,
    ),
    clientSecretRef: secretRef('Secret key holding the OAuth client secret'),
    scopes: names('scope', 'Scopes to request'),
    rootCARef: rootCARef('the issuer', 'Dex 2.41+'),
  },
  'Log in with an upstream OpenID Connect provider',
  connectorInline('clientSecretRef'),
);

const claimKey = (description: string) =>
  optional(
    pattern(
      /^[A-Za-z0-9_.:-]{1,256}$/,
      description,
      v => `"${clip(v)}" is not a claim name: use letters, digits and _ . : -`,
    ),
  );

const oauthConnectorSchema = strictObject(
  {
    type: z.literal('oauth'),
    id: connectorId(),
    name: connectorName(),
    authorizationURL: url("The provider's authorization endpoint (https)"),
    tokenURL: url("The provider's token endpoint (https)"),
    userInfoURL: url("The provider's user info endpoint (https)"),
    clientId: clientIdField('upstream OAuth'),
    clientSecretRef: secretRef('Secret key holding the OAuth client secret'),
    scopes: names('scope', 'Scopes to request'),
    userIDKey: claimKey('User info field of the user id; id when absent'),
    userNameKey: claimKey(
      'User info field of the user name; user_name when absent',
    ),
    emailKey: claimKey('User info field of the email; email when absent'),
    groupsKey: claimKey('User info field of the groups; groups when absent'),
    rootCARef: rootCARef("the provider's endpoints"),
  },
  'Log in with a generic OAuth 2 provider (Dex 2.31+)',
  connectorInline('clientSecretRef'),
);

const samlConnectorSchema = strictObject(
  {
    type: z.literal('saml'),
    id: connectorId(),
    name: connectorName(),
    ssoURL: url("The identity provider's single sign-on URL (https)"),
    caPem: pattern(
      PEM_CERTIFICATE,
      'PEM of the certificate (or its CA) the identity provider signs responses with; public, so given inline',
      () =>
        'give the PEM certificate the identity provider signs with (-----BEGIN CERTIFICATE----- ...)',
    ),
    entityIssuer: optional(
      text('Issuer of the authentication requests (our entity id)', 2048),
    ),
    ssoIssuer: optional(
      text("The identity provider's issuer, checked in responses", 2048),
    ),
    usernameAttr: requiredText(
      'Assertion attribute holding the user name',
      'name the assertion attribute that holds the user name (e.g. name)',
      256,
    ),
    emailAttr: requiredText(
      'Assertion attribute holding the email',
      'name the assertion attribute that holds the email (e.g. email)',
      256,
    ),
    groupsAttr: optional(text('Assertion attribute holding the groups', 256)),
    nameIDPolicyFormat: optional(
      text('NameID format to request, e.g. persistent or emailAddress', 256),
    ),
  },
  'Log in with a SAML 2.0 identity provider',
  {
    insecureSkipSignatureValidation:
      'responses must be signed: give caPem, the certificate the identity provider signs with',
  },
);

const ldapConnectorSchema = strictObject(
  {
    type: z.literal('ldap'),
    id: connectorId(),
    name: connectorName(),
    host: pattern(
      /^[A-Za-z0-9.-]+(:\d{1,5})?$/,
      'host:port of the LDAP server',
      () => 'give the LDAP server as host:port, e.g. ldap.example.com:636',
    ),
    bindDN: requiredText('DN to bind as', 'the DN to bind as is required'),
    bindPasswordRef: secretRef('Secret key holding the bind password'),
    userBaseDN: requiredText(
      'Base DN to search users under',
      'the base DN to search users under is required',
    ),
    userFilter: optional(text('User search filter')),
    usernameAttr: optional(text('Attribute holding the username')),
    groupBaseDN: optional(text('Base DN to search groups under')),
    insecureNoSSL: z.boolean({ description: 'Connect without TLS' }).optional(),
    startTLS: z
      .boolean({
        description:
          'Connect in clear, then upgrade with StartTLS (usually port 389); LDAPS (port 636) when false',
      })
      .optional(),
    rootCARef: rootCARef('the LDAP server'),
    insecureSkipVerify: z
      .boolean({
        description:
          "Do not verify the LDAP server's certificate (only where the platform allows it)",
      })
      .optional(),
  },
  'Log in with LDAP',
  {
    ...connectorInline('bindPasswordRef'),
    rootCA: `give the CA by Secret reference: rootCARef: {name, key}`,
    rootCAData: `give the CA by Secret reference: rootCARef: {name, key}`,
  },
);

/**
 * The connector types the spec knows (each Dex release supports some: see the version catalogue).
 *
 * @public
 */
export const CONNECTOR_TYPES = [
  'github',
  'gitlab',
  'microsoft',
  'google',
  'oidc',
  'oauth',
  'saml',
  'ldap',
] as const;

const connectorSchema = z.discriminatedUnion(
  'type',
  [
    githubConnectorSchema,
    gitlabConnectorSchema,
    microsoftConnectorSchema,
    googleConnectorSchema,
    oidcConnectorSchema,
    oauthConnectorSchema,
    samlConnectorSchema,
    ldapConnectorSchema,
  ],
  {
    description:
      'An upstream identity provider (secrets by Secret reference only)',
    errorMap: (issue, ctx) =>
      issue.code === z.ZodIssueCode.invalid_union_discriminator
        ? {
            message: `unknown connector type ${JSON.stringify((ctx.data as { type?: unknown })?.type)}; use ${CONNECTOR_TYPES.join(', ')}`,
          }
        : { message: ctx.defaultError },
  },
);

const staticClientSchema = strictObject(
  {
    id: pattern(
      CLIENT_ID,
      'Client id',
      () => "give the client an id of letters, digits, '-', '_' or '.'",
    ),
    name: optional(text('Display name', 200)),
    redirectURIs: list(
      url('A redirect URI (https, or http on localhost)', {
        allowLoopbackHttp: true,
      }),
      'redirect URIs',
      'Allowed redirect URIs; a confidential client needs at least one',
    ).optional(),
    secretRef: secretRef(
      'Secret key holding the client secret; generated and kept when absent',
    ).optional(),
    public: z
      .boolean({ description: 'A public client (no secret)' })
      .optional(),
  },
  'An OAuth client of Dex',
  {
    secret:
      'secrets are never given inline: reference a Secret with secretRef: {name, key}, or omit it to have one generated',
  },
);

const staticUserSchema = strictObject(
  {
    email: pattern(
      /^[^\s@]+@[^\s@]+$/,
      'Email (the login name)',
      () => 'a valid email is required',
    ).refine(v => v.length <= 254, 'a valid email is required'),
    username: pattern(
      CLIENT_ID,
      'Username',
      () => "a username of letters, digits, '-', '_' or '.' is required",
    ),
    passwordRef: secretRef(
      'Secret key holding the clear password; hashed with bcrypt',
    ).optional(),
    hash: optional(
      pattern(
        BCRYPT_HASH,
        'Or a bcrypt hash of the password',
        () => 'must be a bcrypt hash ($2a$/$2b$/$2y$)',
      ),
    ),
    groups: list(
      requiredText('A group', 'name the group', 256),
      'groups',
      'Groups (Dex 2.45+)',
    ).optional(),
  },
  'A static Dex user, for development and tests (the password is hashed, never stored in clear)',
  {
    password: `passwords are never given inline: store it in a Secret and reference it with passwordRef: {name, key}`,
  },
);

const claimName = (description: string, what: string) =>
  optional(
    checked(z.string({ description }), (p, v) => {
      if (!CLAIM_NAME.test(v))
        p.add(
          '',
          `"${clip(v)}" is not a claim name: use letters, digits and _ . : / # - without whitespace`,
        );
    }),
  ).describe(`${description} (${what})`);
const claimPrefix = (description: string) =>
  checked(z.string({ description }), (p, v) =>
    checkClaimPrefix(p, '', v),
  ).optional();
const duration = (description: string) =>
  optional(
    pattern(
      GO_DURATION,
      description,
      v => `"${clip(v)}" is not a duration; write e.g. 24h, 90m or 1h30m`,
    ),
  );

/** The component fields Dex and the authenticator share. */
const componentFields = () => ({
  version: optional(
    z.string({
      description: 'Version; the platform default (dex: config) when absent',
    }),
  ),
  exposure: exposureSchema().optional(),
  replicas: replicas('Replicas (1-20)').optional(),
  resources: resourcesSchema().optional(),
});

/**
 * Fields that are platform policy, never a spec's, each with what to do instead: refused by the
 * spec schema, and declared in the actions' input (packSpecSchemaWith) only so that the
 * scaffolder's JSON Schema check lets them through to this message (it would say no more than
 * "is not allowed to have the additional property").
 */
const PLATFORM_ONLY_FIELDS = {
  imageRegistry:
    'the image registry is chosen by the platform, not in the spec: remove imageRegistry; the platform team sets dex.policy.imageRegistry (or dex.clusters.<cluster>.policy.imageRegistry) in app-config',
} as const;

/**
 * The installation spec: what a developer (or a spec file for the `dex-pack` CLI) writes. Every
 * field but the cluster has a default; unknown fields are refused. The one definition of the
 * spec's shape: the TypeScript types, the scaffolder action's input and the JSON Schema that
 * `dex-pack schema` prints derive from it.
 *
 * @public
 */
export const packSpecInputSchema = strictObject(
  {
    cluster: checked(
      z.string({
        description:
          'Target cluster, by its name under kubernetes.clusterLocatorMethods',
        required_error: 'name the target cluster',
      }),
      (p, v) => checkClusterName(p, '', v),
    ),
    namespace: optional(
      checked(
        z.string({
          description:
            'Namespace of the pack (DNS-1123 label); dex.defaults.namespace or "dex" when absent',
        }),
        (p, v) => checkDnsLabel(p, '', v, 'namespace'),
      ),
    ),
    instance: optional(
      checked(
        z.string({
          description:
            'Prefix of every object name and the app.kubernetes.io/instance label; "dex" when absent',
        }),
        (p, v) => checkDnsLabel(p, '', v, 'instance name', MAX_INSTANCE),
      ),
    ),
    kubernetesId: optional(
      pattern(
        LABEL_VALUE,
        'Value of the backstage.io/kubernetes-id label: the catalog entity the pack belongs to; the instance when absent',
        () =>
          "must be a label value: at most 63 letters, digits, '-', '_' or '.'",
      ).refine(
        v => v.length <= 63,
        "must be a label value: at most 63 letters, digits, '-', '_' or '.'",
      ),
    ),
    dex: strictObject(
      {
        ...componentFields(),
        issuerUrl: optional(
          url(
            'Issuer URL (https); derived from the first Ingress host or the Service DNS name when absent',
          ),
        ),
        storage: optional(
          z.enum(['kubernetes', 'memory'], {
            description:
              '`kubernetes` keeps state in CRDs the pack installs (Kubernetes 1.16+); `memory` loses it on restart',
          }),
        ),
      },
      'Dex itself',
    ).optional(),
    authenticator: strictObject(
      {
        ...componentFields(),
        enabled: z
          .boolean({
            description: 'Install dex-k8s-authenticator (default true)',
          })
          .optional(),
        url: optional(
          url(
            'Public URL of the authenticator; derived like the issuer when absent',
            { allowLoopbackHttp: true },
          ),
        ),
        apiServerUrl: optional(
          url('The kube-apiserver URL the generated kubeconfigs point at'),
        ),
        apiServerCaPem: optional(
          pattern(
            /^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/,
            'PEM of the CA the generated kubeconfigs trust for the kube-apiserver',
            () => 'must be a PEM certificate (-----BEGIN CERTIFICATE----- ...)',
          ),
        ),
      },
      'dex-k8s-authenticator, the web page that hands out kubeconfigs',
    ).optional(),
    clientId: optional(
      pattern(
        CLIENT_ID,
        'OIDC client id the kube-apiserver accepts tokens for; "kubernetes" when absent',
        () => "use letters, digits, '-', '_' or '.' for the client id",
      ),
    ),
    connectors: list(
      connectorSchema,
      'connectors',
      'Upstream identity providers (secrets by Secret reference only)',
    ).optional(),
    staticClients: list(
      staticClientSchema,
      'static clients',
      'More OAuth clients of Dex',
    ).optional(),
    staticUsers: list(
      staticUserSchema,
      'static users',
      'Static Dex users, for development and tests',
    ).optional(),
    claims: strictObject(
      {
        usernameClaim: claimName(
          'ID token claim used as the username',
          'email',
        ),
        usernamePrefix: claimPrefix('Prefix of usernames ("" for none)'),
        groupsClaim: claimName('ID token claim used as groups', 'groups'),
        groupsPrefix: claimPrefix('Prefix of groups (oidc:; "" for none)'),
      },
      'How the kube-apiserver maps token claims to users and groups',
    ).optional(),
    expiry: strictObject(
      {
        idTokens: duration('ID token lifetime (Go duration, 24h)'),
        signingKeys: duration('Signing key rotation period (Go duration, 6h)'),
      },
      'Token and key lifetimes',
    ).optional(),
    kubernetesVersion: optional(
      pattern(
        KUBERNETES_VERSION,
        'Kubernetes version of the target (e.g. v1.35.4); constraints are checked against it',
        v =>
          `"${clip(v)}" is not a Kubernetes version: write it as v1.35.4 (or leave it out to read it from the cluster)`,
      ),
    ),
    apiServerCaFile: optional(
      checked(
        z.string({
          description:
            'Path of the pack CA on the control-plane nodes, for --oidc-ca-file',
        }),
        (p, v) => checkNodePath(p, '', v),
      ),
    ),
  },
  'A Dex installation: Dex, dex-k8s-authenticator and the kube-apiserver settings that trust them',
  PLATFORM_ONLY_FIELDS,
);

/**
 * The spec schema's output: a spec as written, before defaults.
 *
 * @public
 */
export type PackSpecInputSchema = typeof packSpecInputSchema;
/** @public */
export type IngressInput = z.infer<ReturnType<typeof ingressSchema>>;
/** @public */
export type ExposureInput = z.infer<ReturnType<typeof exposureSchema>>;
/** @public */
export type ResourcesSpec = z.infer<ReturnType<typeof resourcesSchema>>;
/** @public */
export type SecretKeyRef = z.infer<ReturnType<typeof secretKeyRefSchema>>;
/** @public */
export type GitHubConnectorInput = z.infer<typeof githubConnectorSchema>;
/** @public */
export type OidcConnectorInput = z.infer<typeof oidcConnectorSchema>;
/** @public */
export type LdapConnectorInput = z.infer<typeof ldapConnectorSchema>;
/** @public */
export type GitLabConnectorInput = z.infer<typeof gitlabConnectorSchema>;
/** @public */
export type MicrosoftConnectorInput = z.infer<typeof microsoftConnectorSchema>;
/** @public */
export type GoogleConnectorInput = z.infer<typeof googleConnectorSchema>;
/** @public */
export type OAuthConnectorInput = z.infer<typeof oauthConnectorSchema>;
/** @public */
export type SamlConnectorInput = z.infer<typeof samlConnectorSchema>;
/** @public */
export type ConnectorInput = z.infer<typeof connectorSchema>;
/** @public */
export type StaticClientSpec = z.infer<typeof staticClientSchema>;
/** @public */
export type StaticUserSpec = z.infer<typeof staticUserSchema>;

/**
 * The spec schema with more fields beside the spec's (a scaffolder action's own options), still
 * refusing unknown fields with the nearest known name. It also declares the fields that are
 * platform policy (imageRegistry), so that the scaffolder's JSON Schema check passes them on to
 * the spec's refusal, which says where the platform sets them.
 *
 * @public
 */
export function packSpecSchemaWith<T extends z.ZodRawShape>(
  fields: T,
  description: string,
) {
  const platformOnly = Object.fromEntries(
    Object.entries(PLATFORM_ONLY_FIELDS).map(([name, message]) => [
      name,
      z.unknown({ description: `Not an input: ${message}` }).optional(),
    ]),
  ) as {
    [name in keyof typeof PLATFORM_ONLY_FIELDS]: z.ZodOptional<z.ZodUnknown>;
  };
  return strictObject(
    { ...packSpecInputSchema.shape, ...platformOnly, ...fields },
    description,
  );
}
