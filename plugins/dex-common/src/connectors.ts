import type { ConnectorSpec, SecretKeyRef } from './types';

/**
 * The Secret keys a connector references, by field: its credential (client secret or bind
 * password; a SAML connector has none) and, for LDAP, the CA file mounted into the Dex pod.
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
  switch (c.type) {
    case 'saml':
      return {};
    case 'ldap':
      return {
        credential: { field: 'bindPasswordRef', ref: c.bindPasswordRef },
        ...(c.rootCARef
          ? { rootCA: { field: 'rootCARef', ref: c.rootCARef } }
          : {}),
      };
    default:
      return {
        credential: { field: 'clientSecretRef', ref: c.clientSecretRef },
      };
  }
}
