import crypto from 'node:crypto';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { InputError } from '@backstage/errors';
import {
  ConnectorSpec,
  ExposureSpec,
  PackSpec,
  PackSpecInput,
  PlatformPolicy,
  SERVICE_TYPES,
  formatProblems,
  validateSpec,
  withDefaults,
} from '@backstage-dex/plugin-dex-common';
import type { z as zod } from 'zod/v3';

type Z = typeof zod;

const secretRef = (z: Z, description: string) =>
  z.object(
    {
      name: z.string({ description: 'Name of the Secret in the pack namespace' }),
      key: z.string({ description: 'Key inside the Secret' }),
    },
    { description },
  );

const ingress = (z: Z, what: string) =>
  z
    .object(
      {
        enabled: z.boolean({ description: `Create an Ingress for ${what}` }),
        className: z
          .string({ description: 'spec.ingressClassName; dex.defaults.ingressClassName when absent' })
          .optional(),
        annotations: z
          .record(z.string(), { description: 'Annotations of the Ingress (e.g. cert-manager issuer)' })
          .optional(),
        path: z.string({ description: 'URL path prefix, "/" by default' }).optional(),
        hosts: z
          .array(z.string(), { description: 'Host names (DNS-1123), the first one makes the public URL' })
          .optional(),
        tlsSecretName: z
          .string({
            description:
              "kubernetes.io/tls Secret the Ingress terminates TLS with; the pack's own certificate (signed by its CA) when absent",
          })
          .optional(),
      },
      { description: `Ingress in front of ${what}` },
    )
    .optional();

const serviceType = (z: Z) =>
  z
    .enum(SERVICE_TYPES as [string, ...string[]], {
      description: 'Service type; dex.defaults.serviceType (or ClusterIP) when absent',
    })
    .optional();

const extraNames = (z: Z) =>
  z
    .array(z.string(), {
      description: "Extra host names or IPs clients use (e.g. a LoadBalancer's DNS name), added to the certificate",
    })
    .optional();

/**
 * The input fields both dex:pack actions share: a PackSpec, flattened where that reads better in
 * a template (exposure fields sit directly under dex / authenticator).
 */
export const packSpecInputSchema = {
  cluster: (z: Z) =>
    z.string({ description: 'Target cluster, by its name under kubernetes.clusterLocatorMethods' }),
  namespace: (z: Z) =>
    z.string({ description: 'Namespace of the pack (DNS-1123 label); dex.defaults.namespace or "dex" when absent' }).optional(),
  instance: (z: Z) =>
    z.string({ description: 'Prefix of every object name and the app.kubernetes.io/instance label; "dex" when absent' }).optional(),
  entityRef: (z: Z) =>
    z
      .string({
        description:
          'The catalog entity that owns the installation (e.g. component:default/payments-api); its name becomes the backstage.io/kubernetes-id label',
      })
      .optional(),
  kubernetesId: (z: Z) =>
    z
      .string({ description: 'Value of the backstage.io/kubernetes-id label; the entity name (or the instance) when absent' })
      .optional(),
  dex: (z: Z) =>
    z
      .object(
        {
          version: z.string({ description: 'Dex version; dex.versions.default when absent' }).optional(),
          issuerUrl: z
            .string({ description: 'Issuer URL (https); derived from the first Ingress host or the Service DNS name when absent' })
            .optional(),
          serviceType: serviceType(z),
          extraNames: extraNames(z),
          ingress: ingress(z, 'Dex'),
          replicas: z.number({ description: 'Replicas (1-20); more than one needs kubernetes storage' }).int().optional(),
          storage: z
            .enum(['kubernetes', 'memory'], { description: 'Where Dex keeps its state; kubernetes (CRDs) by default' })
            .optional(),
        },
        { description: 'Dex itself' },
      )
      .optional(),
  authenticator: (z: Z) =>
    z
      .object(
        {
          enabled: z.boolean({ description: 'Install dex-k8s-authenticator (default true)' }).optional(),
          version: z.string({ description: 'dex-k8s-authenticator version; dex.authenticator.versions.default when absent' }).optional(),
          serviceType: serviceType(z),
          extraNames: extraNames(z),
          ingress: ingress(z, 'the authenticator'),
          replicas: z.number({ description: 'Replicas (1-20)' }).int().optional(),
          url: z.string({ description: 'Public URL of the authenticator; derived like the issuer when absent' }).optional(),
          apiServerUrl: z
            .string({ description: "The kube-apiserver URL the generated kubeconfigs point at" })
            .optional(),
        },
        { description: 'dex-k8s-authenticator, the web page that hands out kubeconfigs' },
      )
      .optional(),
  clientId: (z: Z) =>
    z.string({ description: 'OIDC client id the kube-apiserver accepts tokens for; "kubernetes" when absent' }).optional(),
  connectors: (z: Z) =>
    z
      .array(
        z
          .object({
            type: z.enum(['github', 'oidc', 'ldap'], { description: 'Connector type' }),
            id: z.string({ description: 'Connector id (unique); the type when absent' }).optional(),
            name: z.string({ description: 'Name shown on the login page; GitHub, OIDC or LDAP when absent' }).optional(),
            clientId: z.string({ description: 'github/oidc: OAuth client id' }).optional(),
            clientSecretRef: secretRef(z, 'github/oidc: Secret key holding the OAuth client secret').optional(),
            orgs: z.array(z.string(), { description: 'github: organisations whose members may log in' }).optional(),
            issuer: z.string({ description: 'oidc: the upstream issuer URL' }).optional(),
            scopes: z.array(z.string(), { description: 'oidc: scopes to request' }).optional(),
            host: z.string({ description: 'ldap: host:port of the LDAP server' }).optional(),
            bindDN: z.string({ description: 'ldap: DN to bind as' }).optional(),
            bindPasswordRef: secretRef(z, 'ldap: Secret key holding the bind password').optional(),
            userBaseDN: z.string({ description: 'ldap: base DN to search users under' }).optional(),
            userFilter: z.string({ description: 'ldap: user search filter' }).optional(),
            usernameAttr: z.string({ description: 'ldap: attribute holding the username' }).optional(),
            groupBaseDN: z.string({ description: 'ldap: base DN to search groups under' }).optional(),
            insecureNoSSL: z.boolean({ description: 'ldap: connect without TLS' }).optional(),
          })
          .strict(),
        { description: 'Upstream identity providers (secrets by Secret reference only)' },
      )
      .optional(),
  staticClients: (z: Z) =>
    z
      .array(
        z
          .object({
            id: z.string({ description: 'Client id' }),
            name: z.string({ description: 'Display name' }).optional(),
            redirectURIs: z.array(z.string(), { description: 'Allowed redirect URIs' }),
            secretRef: secretRef(z, 'Secret key holding the client secret; generated and kept when absent').optional(),
            public: z.boolean({ description: 'A public client (no secret)' }).optional(),
          })
          .strict(),
        { description: 'More OAuth clients of Dex' },
      )
      .optional(),
  staticUsers: (z: Z) =>
    z
      .array(
        z
          .object({
            email: z.string({ description: 'Email (the login name)' }),
            username: z.string({ description: 'Username' }),
            passwordRef: secretRef(z, 'Secret key holding the clear password; hashed with bcrypt').optional(),
            hash: z.string({ description: 'Or a bcrypt hash of the password' }).optional(),
            groups: z.array(z.string(), { description: 'Groups (Dex 2.45+)' }).optional(),
          })
          .strict(),
        { description: 'Static Dex users, for development and tests' },
      )
      .optional(),
  claims: (z: Z) =>
    z
      .object(
        {
          usernameClaim: z.string({ description: 'ID token claim used as the username (email)' }).optional(),
          usernamePrefix: z.string({ description: 'Prefix of usernames ("" for none)' }).optional(),
          groupsClaim: z.string({ description: 'ID token claim used as groups (groups)' }).optional(),
          groupsPrefix: z.string({ description: 'Prefix of groups (oidc:)' }).optional(),
        },
        { description: 'How the kube-apiserver maps token claims to users and groups' },
      )
      .optional(),
  expiry: (z: Z) =>
    z
      .object(
        {
          idTokens: z.string({ description: 'ID token lifetime (Go duration, 24h)' }).optional(),
          signingKeys: z.string({ description: 'Signing key rotation period (Go duration, 6h)' }).optional(),
        },
        { description: 'Token and key lifetimes' },
      )
      .optional(),
  imageRegistry: (z: Z) =>
    z
      .string({ description: 'Registry that replaces the registry of every image; dex.defaults.imageRegistry when absent' })
      .optional(),
  apiServerCaFile: (z: Z) =>
    z
      .string({ description: 'Path of the pack CA on the control-plane nodes, for --oidc-ca-file' })
      .optional(),
};

const CONNECTOR_NAMES: Record<ConnectorSpec['type'], string> = { github: 'GitHub', oidc: 'OIDC', ldap: 'LDAP' };

type SchemaInput = {
  [K in keyof typeof packSpecInputSchema]?: zod.infer<ReturnType<(typeof packSpecInputSchema)[K]>>;
};
type IngressInput = NonNullable<NonNullable<SchemaInput['dex']>['ingress']>;

/** An empty string from a form field means "not given". */
function given<T>(value: T | '' | null | undefined): T | undefined {
  return value === '' || value === null ? undefined : value;
}

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function exposureInput(c: {
  serviceType?: string;
  extraNames?: string[];
  ingress?: IngressInput;
} | undefined): Partial<ExposureSpec> | undefined {
  if (!c) return undefined;
  const ing = c.ingress;
  return compact({
    serviceType: given(c.serviceType) as ExposureSpec['serviceType'] | undefined,
    extraNames: c.extraNames?.length ? c.extraNames : undefined,
    ingress: ing
      ? compact({
          enabled: ing.enabled,
          className: given(ing.className),
          annotations: ing.annotations,
          path: given(ing.path),
          hosts: (ing.hosts ?? []).filter(h => h !== ''),
          tlsSecretName: given(ing.tlsSecretName),
        })
      : undefined,
  }) as Partial<ExposureSpec>;
}

/** The owning entity's ref (normalised) and name, when the input names one. */
export function ownerOf(entityRef: string | undefined): { entityRef: string; name: string } | undefined {
  const ref = given(entityRef);
  if (!ref) return undefined;
  try {
    const parsed = parseEntityRef(ref, { defaultKind: 'component', defaultNamespace: 'default' });
    return { entityRef: stringifyEntityRef(parsed), name: parsed.name };
  } catch (e) {
    throw new InputError(`entityRef "${ref}" is not an entity reference; write it as kind:namespace/name (${(e as Error).message})`);
  }
}

/** The action input as a PackSpecInput (not yet defaulted or validated). */
export function toPackSpecInput(input: SchemaInput & { cluster: string }): PackSpecInput {
  const owner = ownerOf(input.entityRef);
  const instance = given(input.instance);
  return compact({
    cluster: input.cluster,
    namespace: given(input.namespace) as string,
    instance,
    kubernetesId: given(input.kubernetesId) ?? owner?.name,
    dex: input.dex
      ? compact({
          version: given(input.dex.version),
          issuerUrl: given(input.dex.issuerUrl),
          exposure: exposureInput(input.dex) as ExposureSpec,
          replicas: input.dex.replicas,
          storage: input.dex.storage,
        })
      : undefined,
    authenticator: input.authenticator
      ? compact({
          enabled: input.authenticator.enabled,
          version: given(input.authenticator.version),
          exposure: exposureInput(input.authenticator) as ExposureSpec,
          replicas: input.authenticator.replicas,
          url: given(input.authenticator.url),
          apiServerUrl: given(input.authenticator.apiServerUrl),
        })
      : undefined,
    clientId: given(input.clientId),
    connectors: input.connectors?.map(
      c => compact({ ...c, id: given(c.id) ?? c.type, name: given(c.name) ?? CONNECTOR_NAMES[c.type] }) as unknown as ConnectorSpec,
    ),
    staticClients: input.staticClients?.map(c => compact(c)),
    staticUsers: input.staticUsers?.map(u => compact(u)),
    claims: input.claims ? compact(input.claims) : undefined,
    expiry: input.expiry
      ? compact({ idTokens: given(input.expiry.idTokens), signingKeys: given(input.expiry.signingKeys) })
      : undefined,
    imageRegistry: given(input.imageRegistry),
    apiServerCaFile: given(input.apiServerCaFile),
  }) as PackSpecInput;
}

/** Defaults from the platform policy, then every problem at once as one InputError. */
export function resolvePackSpec(
  input: SchemaInput & { cluster: string; kubernetesVersion?: string },
  policy: PlatformPolicy,
): PackSpec {
  const spec = withDefaults({ ...toPackSpecInput(input), kubernetesVersion: given(input.kubernetesVersion) }, policy);
  const problems = validateSpec(spec, policy);
  if (problems.length) throw new InputError(formatProblems(problems));
  return spec;
}

/** A short, stable digest of a JSON value (for checkpoint keys). */
export function digest(value: unknown): string {
  return crypto.createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}
