import type {
  DexInstallation,
  ExposureSpec,
} from '@backstage-dex/plugin-dex-common';

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

/** A component's exposure as the template's Exposure page asks for it. */
function exposureForm(exposure: ExposureSpec, url: string | undefined) {
  const ingress = exposure.ingress;
  return {
    serviceType: exposure.serviceType,
    ...(url ? { url } : {}),
    ingress:
      ingress?.enabled && ingress.hosts[0]
        ? {
            enabled: true,
            host: ingress.hosts[0],
            ...(ingress.className ? { className: ingress.className } : {}),
            path: ingress.path,
            ...(ingress.tlsSecretName
              ? { tlsSecretName: ingress.tlsSecretName }
              : {}),
            ...(ingress.annotations && Object.keys(ingress.annotations).length
              ? { annotations: ingress.annotations }
              : {}),
          }
        : { enabled: false },
  };
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
  const user = spec.staticUsers[0];
  const connector = spec.connectors[0];
  const connectorFields = connector
    ? (({ id: _id, name: _name, ...fields }) => fields)(connector)
    : undefined;
  const { url: issuerUrl, ...dexExposure } = exposureForm(
    spec.dex.exposure,
    spec.dex.issuerUrl,
  );
  return {
    ...where,
    dexExposure: { ...dexExposure, ...(issuerUrl ? { issuerUrl } : {}) },
    authenticatorExposure: exposureForm(
      spec.authenticator.exposure,
      spec.authenticator.url,
    ),
    authenticatorVersion: spec.authenticator.version,
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
