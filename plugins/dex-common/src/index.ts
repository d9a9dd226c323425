/**
 * Types, constants, the version catalogue, the installation spec's schema and its validation, and
 * the permissions, shared by the Dex plugins. No Node or React imports.
 *
 * @packageDocumentation
 */
export {
  ANNOTATION_DEX_CLUSTERS,
  ANNOTATION_KUBERNETES_ID,
  ANNOTATION_OWNER_ENTITY_REF,
  ANNOTATION_OWNER_INSTANCE,
  FIELD_MANAGER,
  KUBECTL_CLIENT_ID,
  LABEL_COMPONENT,
  LABEL_INSTANCE,
  LABEL_KUBERNETES_ID,
  LABEL_MANAGED_BY,
  LABEL_NAME,
  LABEL_PART_OF,
  LABEL_VERSION,
  MANAGED_BY,
  PART_OF,
} from './constants';
export type {
  ApiServerSettings,
  CertificateStatus,
  ClaimsSpec,
  ClusterError,
  ComponentStatus,
  ConnectorSpec,
  DexClustersResponse,
  DexExposureResponse,
  DexInstallation,
  DexStatusResponse,
  DexVersionsResponse,
  Endpoint,
  EndpointKind,
  ExposureSpec,
  GitHubConnectorSpec,
  GitLabConnectorSpec,
  GoogleConnectorSpec,
  MicrosoftConnectorSpec,
  OAuthConnectorSpec,
  SamlConnectorSpec,
  IngressSpec,
  IngressStatus,
  KubeadmControlPlaneStatus,
  LdapConnectorSpec,
  OidcConnectorSpec,
  PackSpec,
  PackSpecInput,
  ResourcesSpec,
  SecretKeyRef,
  ServiceType,
  SpecProblem,
  StaticClientSpec,
  StaticUserSpec,
  PackPlan,
} from './types';
export { connectorSecretRefs } from './connectors';
export {
  CONNECTOR_TYPES,
  SERVICE_TYPES,
  packSpecInputSchema,
  packSpecSchemaWith,
} from './spec/schema';
export type { PackSpecInputSchema } from './spec/schema';
export { nearestName } from './spec/checks';
export {
  WHITESPACE_OR_CONTROL,
  isImageRegistry,
  isIpv4,
  isLabelValue,
  normalizeVersion,
} from './spec/patterns';
export {
  AUTHENTICATOR_RELEASES,
  DEFAULT_AUTHENTICATOR_VERSION,
  DEFAULT_DEX_VERSION,
  DEX_RELEASES,
  authenticationConfigurationApiVersion,
  compareVersions,
  defaultDexStorage,
  findAuthenticatorRelease,
  findDexRelease,
  kubernetesServesStartupProbe,
  kubernetesServesV1Crds,
  versionFromImage,
} from './versions';
export type {
  AuthenticatorRelease,
  ConnectorType,
  DexRelease,
} from './versions';
export {
  formatProblems,
  resolveSpec,
  validateSpec,
  withDefaults,
} from './validation';
export {
  DEFAULT_POLICY,
  DEFAULT_USABLE_SECRET_LABEL,
  RESERVED_NAMESPACES,
  isRiskyAnnotation,
} from './policy';
export type { PlatformPolicy } from './policy';
export {
  dexPackApplyPermission,
  dexPackTakeoverPermission,
  dexPermissions,
} from './permissions';
export { installationKey } from './installation';
