import path from 'node:path/posix';
import { InputError } from '@backstage/errors';
import {
  ApiServerSettings,
  PackSpec,
  WHITESPACE_OR_CONTROL,
  authenticationConfigurationApiVersion,
} from '@backstage-dex/plugin-dex-common';
import { issuerUrl } from './names';
import { configYamlOf } from './yamlText';

/**
 * One flag, from a value the spec's checks already parsed and normalised. Checked once more
 * here, where it matters: whitespace or a line break would make the rest a flag of its own.
 */
function flag(name: string, value: string): string {
  if (value === '' || WHITESPACE_OR_CONTROL.test(value))
    throw new InputError(
      `--${name}: ${JSON.stringify(value.slice(0, 60))} is empty or contains whitespace or control characters; nothing was applied`,
    );
  return `--${name}=${value}`;
}

/**
 * The username prefix the kube-apiserver applies: the one given, else none for the `email` claim
 * and `<issuer>#` for any other (as it does for --oidc-username-prefix left out), so the flags and
 * the AuthenticationConfiguration mean the same.
 */
function usernamePrefix(spec: PackSpec, issuer: string): string {
  const given = spec.claims.usernamePrefix;
  if (given === '-') return '';
  if (given !== undefined) return given;
  return spec.claims.usernameClaim === 'email' ? '' : `${issuer}#`;
}

/** The Kubernetes version assumed when the target's is unknown: the newest AuthenticationConfiguration. */
const ASSUMED_KUBERNETES = 'v1.34.0';

/** Settings per spec object, with the CA they were made for. */
const computed = new WeakMap<
  PackSpec,
  { caPem: string; settings: ApiServerSettings }
>();

/**
 * kube-apiserver settings that make it trust tokens from the pack's Dex: the --oidc-* flags and the
 * equivalent AuthenticationConfiguration (the two cannot be combined on one apiserver).
 */
export function apiServerSettings(
  spec: PackSpec,
  caPem: string,
): ApiServerSettings {
  // A provision asks twice (rendering the settings ConfigMap, then for its outputs).
  const known = computed.get(spec);
  if (known?.caPem === caPem) return known.settings;
  const settings = computeSettings(spec, caPem);
  computed.set(spec, { caPem, settings });
  return settings;
}

function computeSettings(spec: PackSpec, caPem: string): ApiServerSettings {
  const issuer = issuerUrl(spec);
  const { claims } = spec;
  const userPrefix = usernamePrefix(spec, issuer);
  const flags = [
    flag('oidc-issuer-url', issuer),
    flag('oidc-client-id', spec.clientId),
    flag('oidc-ca-file', path.normalize(spec.apiServerCaFile)),
    flag('oidc-username-claim', claims.usernameClaim),
    ...(claims.usernamePrefix !== undefined
      ? [flag('oidc-username-prefix', userPrefix || '-')]
      : []),
    flag('oidc-groups-claim', claims.groupsClaim),
    ...(claims.groupsPrefix
      ? [flag('oidc-groups-prefix', claims.groupsPrefix)]
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
          username: { claim: claims.usernameClaim, prefix: userPrefix },
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
    authenticationConfiguration: configYamlOf(doc),
    authenticationConfigurationApiVersion: apiVersion,
    caPem,
  };
}
