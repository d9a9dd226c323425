import crypto from 'node:crypto';
import {
  ConnectorSpec,
  PackSpec,
  connectorSecretRefs,
  findDexRelease,
  KUBECTL_CLIENT_ID,
} from '@backstage-dex/plugin-dex-common';
import { PackMaterial } from './material';
import {
  DEX_HTTPS_PORT,
  DEX_TELEMETRY_PORT,
  authenticatorRedirectUri,
  issuerUrl,
} from './names';

/** Where the Dex container finds its files. */
export const DEX_PATHS = {
  config: '/etc/dex/cfg/config.yaml',
  tlsCert: '/etc/dex/tls/tls.crt',
  tlsKey: '/etc/dex/tls/tls.key',
};

/** Env var that carries a connector's secret into the pod; every Dex version expands $VARS in connector configs. */
export function connectorSecretEnv(c: ConnectorSpec): string {
  return `DEX_CONNECTOR_${c.id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_SECRET`;
}

/** Where a connector's root CA (from the Secret its rootCARef names) is mounted in the Dex pod. */
export function connectorCaDir(index: number): string {
  return `/etc/dex/connectors/${index}`;
}

const CONNECTOR_CA_FILE = 'ca.crt';

/** The volumes (and mounts) that bring connectors' root CAs from their Secrets into the Dex pod. */
export function connectorCaVolumes(spec: PackSpec) {
  return spec.connectors.flatMap((c, i) => {
    const rootCA = connectorSecretRefs(c).rootCA;
    if (!rootCA) return [];
    const name = `connector-ca-${i}`;
    return [
      {
        volume: {
          name,
          secret: {
            secretName: rootCA.ref.name,
            items: [{ key: rootCA.ref.key, path: CONNECTOR_CA_FILE }],
          },
        },
        mount: { name, mountPath: connectorCaDir(i), readOnly: true },
      },
    ];
  });
}

const defined = (o: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(o).filter(
      ([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0),
    ),
  );

/** A connector's `config` as its Dex release reads it (field names from each connector's Config struct). */
function connectorConfig(
  spec: PackSpec,
  c: ConnectorSpec,
  index: number,
): Record<string, unknown> {
  const release = findDexRelease(spec.dex.version)!;
  const redirectURI = `${issuerUrl(spec)}/callback`;
  const secret = `$${connectorSecretEnv(c)}`;
  const caFile = connectorSecretRefs(c).rootCA
    ? `${connectorCaDir(index)}/${CONNECTOR_CA_FILE}`
    : undefined;
  switch (c.type) {
    case 'github':
      return defined({
        clientID: c.clientId,
        clientSecret: secret,
        redirectURI,
        orgs: c.orgs?.map(name => ({ name })),
      });
    case 'gitlab':
      return defined({
        baseURL: c.baseURL ?? 'https://gitlab.com',
        clientID: c.clientId,
        clientSecret: secret,
        redirectURI,
        groups: c.groups,
      });
    case 'microsoft':
      return defined({
        clientID: c.clientId,
        clientSecret: secret,
        redirectURI,
        tenant: c.tenant,
        groups: c.groups,
      });
    case 'google':
      return defined({
        clientID: c.clientId,
        clientSecret: secret,
        redirectURI,
        hostedDomains: c.hostedDomains,
      });
    case 'oidc':
      return defined({
        issuer: c.issuer,
        clientID: c.clientId,
        clientSecret: secret,
        redirectURI,
        scopes: c.scopes,
        rootCAs: caFile ? [caFile] : undefined,
      });
    case 'oauth':
      return defined({
        clientID: c.clientId,
        clientSecret: secret,
        redirectURI,
        authorizationURL: c.authorizationURL,
        tokenURL: c.tokenURL,
        userInfoURL: c.userInfoURL,
        scopes: c.scopes,
        userIDKey: c.userIDKey,
        userNameKey: c.userNameKey,
        emailKey: c.emailKey,
        groupsKey: c.groupsKey,
        rootCAs: caFile ? [caFile] : undefined,
      });
    case 'saml':
      return defined({
        ssoURL: c.ssoURL,
        // caData is a []byte in Dex's Config: JSON carries it base64-encoded.
        caData: Buffer.from(c.caPem.trim()).toString('base64'),
        redirectURI,
        entityIssuer: c.entityIssuer,
        ssoIssuer: c.ssoIssuer,
        usernameAttr: c.usernameAttr,
        emailAttr: c.emailAttr,
        groupsAttr: c.groupsAttr,
        nameIDPolicyFormat: c.nameIDPolicyFormat,
      });
    case 'ldap':
      return defined({
        host: c.host,
        insecureNoSSL: c.insecureNoSSL ?? false,
        startTLS: c.startTLS,
        insecureSkipVerify: c.insecureSkipVerify,
        rootCA: caFile,
        bindDN: c.bindDN,
        bindPW: secret,
        userSearch: {
          baseDN: c.userBaseDN,
          filter: c.userFilter ?? '(objectClass=person)',
          username: c.usernameAttr ?? 'uid',
          idAttr: 'uid',
          emailAttr: 'mail',
          nameAttr: 'cn',
        },
        groupSearch: c.groupBaseDN
          ? {
              baseDN: c.groupBaseDN,
              filter: '(objectClass=groupOfNames)',
              ...(release.ldapUserMatchers
                ? { userMatchers: [{ userAttr: 'DN', groupAttr: 'member' }] }
                : { userAttr: 'DN', groupAttr: 'member' }),
              nameAttr: 'cn',
            }
          : undefined,
      });
    default:
      throw new Error(`unknown connector type`);
  }
}

/** A stable user id derived from the email, so re-renders produce the same config. */
function userId(email: string): string {
  const h = crypto.createHash('sha256').update(email).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** How a static client authenticates: public, a secret from the pod's env, or a generated one. */
function clientCredentials(
  c: PackSpec['staticClients'][number],
  material: PackMaterial,
): Record<string, unknown> {
  if (c.public) return { public: true };
  if (c.secretRef)
    return {
      secretEnv: `DEX_CLIENT_${c.id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_SECRET`,
    };
  return { secret: material.clientSecrets[c.id] };
}

/** Dex's config.yaml (as an object) for a spec. Contains secrets: it only ever goes into a Secret. */
export function dexConfig(
  spec: PackSpec,
  material: PackMaterial,
): Record<string, unknown> {
  const release = findDexRelease(spec.dex.version)!;
  const config: Record<string, unknown> = {
    issuer: issuerUrl(spec),
    storage:
      spec.dex.storage === 'kubernetes'
        ? {
            type: 'kubernetes',
            config: {
              inCluster: true,
              // The pack installs the CRDs; Dex has no right to create them, so it need not try.
              ...(release.crdHandlingCheck ? { crdHandling: 'check' } : {}),
            },
          }
        : { type: 'memory' },
    web: {
      https: `0.0.0.0:${DEX_HTTPS_PORT}`,
      tlsCert: DEX_PATHS.tlsCert,
      tlsKey: DEX_PATHS.tlsKey,
    },
  };
  if (release.telemetryHealth)
    config.telemetry = { http: `0.0.0.0:${DEX_TELEMETRY_PORT}` };
  config.expiry = {
    idTokens: spec.expiry.idTokens,
    signingKeys: spec.expiry.signingKeys,
  };
  const oauth2: Record<string, unknown> = {
    skipApprovalScreen: true,
    responseTypes: ['code'],
  };
  if (spec.staticUsers.length && release.passwordGrant)
    oauth2.passwordConnector = 'local';
  config.oauth2 = oauth2;

  const clients: Record<string, unknown>[] = [];
  // kubectl's public client may ask for tokens whose audience is the pack's client (the
  // kube-apiserver's --oidc-client-id): a downloaded kubeconfig then needs no client secret.
  const trustedPeers = [KUBECTL_CLIENT_ID];
  if (spec.authenticator.enabled) {
    clients.push({
      id: spec.clientId,
      name: 'Kubernetes (dex-k8s-authenticator)',
      secret: material.clientSecrets[spec.clientId],
      redirectURIs: [authenticatorRedirectUri(spec)],
      trustedPeers,
    });
  } else {
    clients.push({
      id: spec.clientId,
      name: 'Kubernetes',
      secret: material.clientSecrets[spec.clientId],
      redirectURIs: ['urn:ietf:wg:oauth:2.0:oob'],
      trustedPeers,
    });
  }
  for (const c of spec.staticClients) {
    clients.push({
      id: c.id,
      name: c.name ?? c.id,
      ...clientCredentials(c, material),
      redirectURIs: c.redirectURIs,
    });
  }
  // Public and without redirect URIs: Dex then accepts http://localhost:<port> (kubelogin's
  // browser login) and the out-of-band URI, nothing else.
  clients.push({
    id: KUBECTL_CLIENT_ID,
    name: 'kubectl (kubelogin)',
    public: true,
  });
  config.staticClients = clients;

  if (spec.staticUsers.length) {
    config.enablePasswordDB = true;
    config.staticPasswords = spec.staticUsers.map(u => ({
      email: u.email,
      username: u.username,
      userID: userId(u.email),
      hash: material.passwordHashes[u.email],
      ...(u.groups?.length ? { groups: u.groups } : {}),
    }));
  }
  if (spec.connectors.length) {
    config.connectors = spec.connectors.map((c, i) => ({
      type: c.type,
      id: c.id,
      name: c.name,
      config: connectorConfig(spec, c, i),
    }));
  }
  return config;
}

/** Env vars of the Dex container that carry referenced secrets (connector and client secrets). */
export function dexSecretEnv(spec: PackSpec) {
  return [
    ...spec.connectors.flatMap(c => {
      const credential = connectorSecretRefs(c).credential;
      return credential
        ? [
            {
              name: connectorSecretEnv(c),
              valueFrom: { secretKeyRef: credential.ref },
            },
          ]
        : [];
    }),
    ...spec.staticClients
      .filter(c => c.secretRef && !c.public)
      .map(c => ({
        name: `DEX_CLIENT_${c.id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_SECRET`,
        valueFrom: { secretKeyRef: c.secretRef! },
      })),
  ];
}
