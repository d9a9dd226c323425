import type { DexInstallation } from '@backstage-dex/plugin-dex-common';

/** Where the app serves the "Add Dex auth" template (the scaffolder at /create). */
export const ADD_DEX_AUTH_TEMPLATE_PATH =
  '/create/templates/default/add-dex-auth';

/**
 * The template, its form filled in with `formData` (the scaffolder reads the `formData` query
 * parameter as JSON).
 */
export function addDexAuthLink(formData: Record<string, unknown>): string {
  const query = new URLSearchParams({ formData: JSON.stringify(formData) });
  return `${ADD_DEX_AUTH_TEMPLATE_PATH}?${query}`;
}

/**
 * The template's form values for an installation as it is, with another Dex version: what
 * "Upgrade" opens. The keys are the template's parameters (templates/add-dex-auth/template.yaml);
 * the values come from the spec the pack recorded, so connectors, the test user and the exposure
 * stay as they are. Without a recorded spec (older installations) only where it is and what it is
 * called are known.
 */
export function upgradeFormData(
  installation: DexInstallation,
  entityRef: string,
  version: string,
): Record<string, unknown> {
  const { cluster, namespace, instance, spec } = installation;
  const where = { entity: entityRef, cluster, namespace, instance, version };
  if (!spec) return where;
  const dexIngress = spec.dex.exposure.ingress;
  const authenticatorIngress = spec.authenticator.exposure.ingress;
  const user = spec.staticUsers[0];
  const connector = spec.connectors[0];
  const connectorFields = connector
    ? (({ id: _id, name: _name, ...fields }) => fields)(connector)
    : undefined;
  return {
    ...where,
    serviceType: spec.dex.exposure.serviceType,
    ...(spec.dex.issuerUrl ? { issuerUrl: spec.dex.issuerUrl } : {}),
    ingress: dexIngress?.enabled
      ? {
          enabled: true,
          dexHost: dexIngress.hosts[0],
          ...(authenticatorIngress?.enabled && authenticatorIngress.hosts[0]
            ? { authenticatorHost: authenticatorIngress.hosts[0] }
            : {}),
          ...(dexIngress.className ? { className: dexIngress.className } : {}),
          ...(dexIngress.tlsSecretName
            ? { tlsSecretName: dexIngress.tlsSecretName }
            : {}),
        }
      : { enabled: false },
    authenticator: spec.authenticator.enabled,
    testUser: user
      ? {
          enabled: true,
          email: user.email,
          username: user.username,
          ...(user.groups?.[0] ? { group: user.groups[0] } : {}),
          ...(user.passwordRef ? { passwordRef: user.passwordRef } : {}),
        }
      : { enabled: false },
    connector: connectorFields ?? { type: 'none' },
  };
}
