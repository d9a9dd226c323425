import YAML from 'yaml';
import {
  ApiServerSettings,
  PackSpec,
  authenticationConfigurationApiVersion,
} from '@backstage-dex/plugin-dex-common';
import { issuerUrl } from './names';

/** The Kubernetes version assumed when the target's is unknown: the newest AuthenticationConfiguration. */
const ASSUMED_KUBERNETES = 'v1.34.0';

/**
 * kube-apiserver settings that make it trust tokens from the pack's Dex: the --oidc-* flags and the
 * equivalent AuthenticationConfiguration (the two cannot be combined on one apiserver).
 */
export function apiServerSettings(
  spec: PackSpec,
  caPem: string,
): ApiServerSettings {
  const issuer = issuerUrl(spec);
  const { claims } = spec;
  const flags = [
    `--oidc-issuer-url=${issuer}`,
    `--oidc-client-id=${spec.clientId}`,
    `--oidc-ca-file=${spec.apiServerCaFile}`,
    `--oidc-username-claim=${claims.usernameClaim}`,
    ...(claims.usernamePrefix !== undefined
      ? [`--oidc-username-prefix=${claims.usernamePrefix || '-'}`]
      : []),
    `--oidc-groups-claim=${claims.groupsClaim}`,
    ...(claims.groupsPrefix
      ? [`--oidc-groups-prefix=${claims.groupsPrefix}`]
      : []),
  ];
  const apiVersion =
    authenticationConfigurationApiVersion(
      spec.kubernetesVersion ?? ASSUMED_KUBERNETES,
    ) ?? 'apiserver.config.k8s.io/v1beta1';
  const doc = {
    apiVersion,
    kind: 'AuthenticationConfiguration',
    jwt: [
      {
        issuer: {
          url: issuer,
          audiences: [spec.clientId],
          certificateAuthority: caPem,
        },
        claimMappings: {
          username: {
            claim: claims.usernameClaim,
            prefix: claims.usernamePrefix ?? '',
          },
          groups: {
            claim: claims.groupsClaim,
            prefix: claims.groupsPrefix ?? '',
          },
        },
      },
    ],
  };
  return {
    issuerUrl: issuer,
    clientId: spec.clientId,
    flags,
    authenticationConfiguration: YAML.stringify(doc, { lineWidth: 0 }),
    authenticationConfigurationApiVersion: apiVersion,
    caPem,
  };
}
