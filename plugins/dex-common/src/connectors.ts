import type { ConnectorSpec, SecretKeyRef } from './types';

/**
 * The Secret keys a connector references, by field: its credential (client secret or bind
 * password; a SAML connector has none) and the CA of its upstream's certificate (LDAP, OIDC,
 * OAuth), mounted into the Dex pod.
 *
 * @public
 */
export function connectorSecretRefs(c: ConnectorSpec): {
  credential?: {
    field: 'clientSecretRef' | 'bindPasswordRef';
    ref: SecretKeyRef;
  };
  rootCA?: { field: 'rootCARef'; ref: SecretKeyRef };
} {
  const rootCA =
    'rootCARef' in c && c.rootCARef
      ? { rootCA: { field: 'rootCARef' as const, ref: c.rootCARef } }
      : {};
  switch (c.type) {
    case 'saml':
      return {};
    case 'ldap':
      return {
        credential: { field: 'bindPasswordRef', ref: c.bindPasswordRef },
        ...rootCA,
      };
    default:
      return {
        credential: { field: 'clientSecretRef', ref: c.clientSecretRef },
        ...rootCA,
      };
  }
}
