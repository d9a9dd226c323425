import type {
  ConnectorInput,
  ExposureInput,
  GitHubConnectorInput,
  GitLabConnectorInput,
  GoogleConnectorInput,
  MicrosoftConnectorInput,
  OAuthConnectorInput,
  SamlConnectorInput,
  IngressInput,
  LdapConnectorInput,
  OidcConnectorInput,
  StaticClientSpec,
  StaticUserSpec,
  packSpecInputSchema,
} from './spec/schema';
import type { z } from 'zod/v3';

export type {
  ResourcesSpec,
  SecretKeyRef,
  StaticClientSpec,
  StaticUserSpec,
} from './spec/schema';

// The spec's types derive from its schema (spec/schema.ts). The input is what a developer writes;
// PackSpec is the same with every default filled in (withDefaults).

/**
 * A Dex installation as written: every field but the cluster may be left out.
 *
 * @public
 */
export type PackSpecInput = z.infer<typeof packSpecInputSchema>;

/**
 * How a component (Dex or the authenticator) is reached from outside its namespace.
 *
 * @public
 */
export type ServiceType = NonNullable<ExposureInput['serviceType']>;

/** @public */
export type IngressSpec = IngressInput & { hosts: string[]; path: string };

/** @public */
export type ExposureSpec = Omit<ExposureInput, 'serviceType' | 'ingress'> & {
  serviceType: ServiceType;
  ingress?: IngressSpec;
};

type WithName<T> = T & { id: string; name: string };
/** @public */
export type GitHubConnectorSpec = WithName<GitHubConnectorInput>;
/** @public */
export type OidcConnectorSpec = WithName<OidcConnectorInput>;
/** @public */
export type LdapConnectorSpec = WithName<LdapConnectorInput>;
/** @public */
export type GitLabConnectorSpec = WithName<GitLabConnectorInput>;
/** @public */
export type MicrosoftConnectorSpec = WithName<MicrosoftConnectorInput>;
/** @public */
export type GoogleConnectorSpec = WithName<GoogleConnectorInput>;
/** @public */
export type OAuthConnectorSpec = WithName<OAuthConnectorInput>;
/** @public */
export type SamlConnectorSpec = WithName<SamlConnectorInput>;
/** @public */
export type ConnectorSpec = WithName<ConnectorInput>;

/** @public */
export type ClaimsSpec = {
  usernameClaim: string;
  usernamePrefix?: string;
  groupsClaim: string;
  groupsPrefix?: string;
};

type DexInput = NonNullable<PackSpecInput['dex']>;
type AuthenticatorInput = NonNullable<PackSpecInput['authenticator']>;

/**
 * One validated description of a Dex installation: the input with every default filled in.
 *
 * @public
 */
export type PackSpec = Omit<
  PackSpecInput,
  | 'dex'
  | 'authenticator'
  | 'connectors'
  | 'staticClients'
  | 'staticUsers'
  | 'claims'
  | 'expiry'
> & {
  namespace: string;
  instance: string;
  kubernetesId: string;
  dex: Omit<DexInput, 'version' | 'exposure' | 'replicas' | 'storage'> & {
    version: string;
    exposure: ExposureSpec;
    replicas: number;
    storage: NonNullable<DexInput['storage']>;
  };
  authenticator: Omit<
    AuthenticatorInput,
    'enabled' | 'version' | 'exposure' | 'replicas'
  > & {
    enabled: boolean;
    version: string;
    exposure: ExposureSpec;
    replicas: number;
  };
  clientId: string;
  connectors: ConnectorSpec[];
  staticClients: StaticClientSpec[];
  staticUsers: StaticUserSpec[];
  claims: ClaimsSpec;
  expiry: { idTokens: string; signingKeys: string };
  apiServerCaFile: string;
  /** From the platform policy only (dex.policy.imageRegistry), never from input. */
  imageRegistry?: string;
};

/**
 * One problem with a spec: the field (dotted path) and what to change.
 *
 * @public
 */
export interface SpecProblem {
  field: string;
  message: string;
}

/**
 * The kube-apiserver settings that make it trust the pack's Dex.
 *
 * @public
 */
export interface ApiServerSettings {
  issuerUrl: string;
  clientId: string;
  /** --oidc-* flags, one per element. */
  flags: string[];
  /** AuthenticationConfiguration (YAML), with the CA inline. */
  authenticationConfiguration: string;
  /** apiVersion chosen for the AuthenticationConfiguration. */
  authenticationConfigurationApiVersion: string;
  caPem?: string;
}

// ---- Status, as served by GET /api/dex/status -------------------------------------------

/** @public */
export type EndpointKind =
  'ingress' | 'loadBalancer' | 'nodePort' | 'clusterIP';

/** @public */
export interface Endpoint {
  kind: EndpointKind;
  url: string;
  /** False while an address is still being assigned (pending LoadBalancer or Ingress). */
  ready: boolean;
}

/** @public */
export interface IngressStatus {
  name: string;
  className?: string;
  hosts: string[];
  tls: boolean;
  /** Load-balancer addresses (IPs or hostnames) written by the Ingress controller. */
  addresses: string[];
  state: 'pending' | 'ready';
}

/** @public */
export interface ComponentStatus {
  name: 'dex' | 'dex-k8s-authenticator';
  /** Version running, read from the Deployment's image tag. */
  version?: string;
  image?: string;
  defaultVersion?: string;
  updateAvailable: boolean;
  serviceType?: ServiceType;
  endpoints: Endpoint[];
  ingress?: IngressStatus;
  replicas: { desired: number; ready: number; updated: number };
  health: 'healthy' | 'progressing' | 'unhealthy' | 'missing';
}

/** @public */
export interface CertificateStatus {
  name: string;
  subject: string;
  notAfter: string;
  daysLeft: number;
}

/** @public */
export interface DexInstallation {
  cluster: string;
  namespace: string;
  instance: string;
  issuerUrl?: string;
  dex: ComponentStatus;
  authenticator?: ComponentStatus;
  certificates: CertificateStatus[];
  apiServer?: Pick<
    ApiServerSettings,
    'flags' | 'authenticationConfiguration' | 'issuerUrl' | 'clientId' | 'caPem'
  >;
  /**
   * The public OAuth client kubectl (kubelogin) logs in with; absent on installations made before
   * the pack had one (a re-run adds it).
   */
  kubectlClientId?: string;
  /**
   * The spec it was installed with, as the pack recorded it (secrets only as references; no
   * password hash, no static clients); absent on installations made before the pack recorded it.
   */
  spec?: Omit<PackSpec, 'staticClients'>;
  /**
   * Set when the cluster's kube-apiserver is configured through Cluster API (`clusterApi` mode):
   * the KubeadmControlPlane the settings were applied to, and its rollout. Absent in `report`
   * mode: the `apiServer` settings are to be applied by hand.
   */
  kubeadmControlPlane?: KubeadmControlPlaneStatus;
}

/**
 * A KubeadmControlPlane that received a pack's kube-apiserver settings, as the status API reads it.
 *
 * @public
 */
export interface KubeadmControlPlaneStatus {
  managementCluster: string;
  namespace: string;
  name: string;
  authentication: 'flags' | 'authenticationConfiguration';
  /** The KubeadmControlPlane carries this installation's settings (false: someone removed or replaced them). */
  applied?: boolean;
  /** From its status: control-plane machines, and how many run the current spec. */
  rollout?: { replicas: number; updated: number; observedLatestSpec: boolean };
  /** Why it could not be read (management cluster not configured, unreachable, ...). */
  error?: string;
}

/** @public */
export interface ClusterError {
  cluster: string;
  message: string;
}

/** @public */
export interface DexStatusResponse {
  entityRef: string;
  installations: DexInstallation[];
  errors: ClusterError[];
}

/** @public */
export interface DexVersionsResponse {
  dex: { allowed: string[]; default: string };
  authenticator: { allowed: string[]; default: string };
}

/**
 * How the form may expose Dex and the authenticator (GET /api/dex/exposure): the Ingress classes
 * the platform allows, its default, and the default service type.
 *
 * @public
 */
export interface DexExposureResponse {
  serviceTypes: ServiceType[];
  defaultServiceType: ServiceType;
  ingressClasses: string[];
  defaultIngressClass?: string;
}

/** @public */
export interface DexClustersResponse {
  clusters: { name: string }[];
  default?: string;
}

/**
 * What a run of `dex:pack:apply` did (or, in a dry run, would do), grouped for people: its `plan`
 * output, which the form's Plan page and the review step show.
 *
 * @public
 */
export interface PackPlan {
  dryRun: boolean;
  summary: string;
  create: string[];
  change: { object: string; fields: string[] }[];
  unchanged: string[];
  leftAsIs: string[];
  pendingLoadBalancers: string[];
}
