import crypto from 'node:crypto';
import {
  ConnectorSpec,
  PackSpec,
  findDexRelease,
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

/** Env var that carries a connector's secret into the pod; Dex expands $VARS in connector configs. */
export function connectorSecretEnv(c: ConnectorSpec): string {
  return `DEX_CONNECTOR_${c.id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_SECRET`;
}

function connectorConfig(
  spec: PackSpec,
  c: ConnectorSpec,
): Record<string, unknown> {
  const redirectURI = `${issuerUrl(spec)}/callback`;
  const secret = `$${connectorSecretEnv(c)}`;
  switch (c.type) {
    case 'github':
      return {
        clientID: c.clientId,
        clientSecret: secret,
        redirectURI,
        ...(c.orgs?.length ? { orgs: c.orgs.map(name => ({ name })) } : {}),
      };
    case 'oidc':
      return {
        issuer: c.issuer,
        clientID: c.clientId,
        clientSecret: secret,
        redirectURI,
        ...(c.scopes?.length ? { scopes: c.scopes } : {}),
      };
    case 'ldap':
      return {
        host: c.host,
        insecureNoSSL: c.insecureNoSSL ?? false,
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
        ...(c.groupBaseDN
          ? {
              groupSearch: {
                baseDN: c.groupBaseDN,
                filter: '(objectClass=groupOfNames)',
                userMatchers: [{ userAttr: 'DN', groupAttr: 'member' }],
                nameAttr: 'cn',
              },
            }
          : {}),
      };
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
        ? { type: 'kubernetes', config: { inCluster: true } }
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
  if (spec.authenticator.enabled) {
    clients.push({
      id: spec.clientId,
      name: 'Kubernetes (dex-k8s-authenticator)',
      secret: material.clientSecrets[spec.clientId],
      redirectURIs: [authenticatorRedirectUri(spec)],
    });
  } else {
    clients.push({
      id: spec.clientId,
      name: 'Kubernetes',
      secret: material.clientSecrets[spec.clientId],
      redirectURIs: ['urn:ietf:wg:oauth:2.0:oob'],
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
    config.connectors = spec.connectors.map(c => ({
      type: c.type,
      id: c.id,
      name: c.name,
      config: connectorConfig(spec, c),
    }));
  }
  return config;
}

/** Env vars of the Dex container that carry referenced secrets (connector and client secrets). */
export function dexSecretEnv(spec: PackSpec) {
  return [
    ...spec.connectors.map(c => ({
      name: connectorSecretEnv(c),
      valueFrom: {
        secretKeyRef: c.type === 'ldap' ? c.bindPasswordRef : c.clientSecretRef,
      },
    })),
    ...spec.staticClients
      .filter(c => c.secretRef && !c.public)
      .map(c => ({
        name: `DEX_CLIENT_${c.id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_SECRET`,
        valueFrom: { secretKeyRef: c.secretRef! },
      })),
  ];
}
