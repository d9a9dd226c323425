/** How a component (Dex or the authenticator) is reached from outside its namespace. */
export type ServiceType = 'ClusterIP' | 'LoadBalancer' | 'NodePort';
export const SERVICE_TYPES: ServiceType[] = ['ClusterIP', 'LoadBalancer', 'NodePort'];

/** A key of a Secret in the pack's namespace; secrets are referenced, never inlined. */
export interface SecretKeyRef {
  name: string;
  key: string;
}

export interface IngressSpec {
  enabled: boolean;
  /** spec.ingressClassName; the platform default (`dex.defaults.ingressClassName`) when absent. */
  className?: string;
  annotations?: Record<string, string>;
  /** URL path prefix, "/" by default. */
  path?: string;
  hosts: string[];
  /**
   * Secret (kubernetes.io/tls) the Ingress terminates TLS with. Absent: the pack's own serving
   * certificate Secret, signed by the pack's CA. Named: it must already exist in the namespace.
   */
  tlsSecretName?: string;
}

export interface ExposureSpec {
  serviceType: ServiceType;
  /** Extra names or IPs clients use (e.g. a LoadBalancer's DNS name); added to the certificate. */
  extraNames?: string[];
  ingress?: IngressSpec;
}

export interface GitHubConnectorSpec {
  type: 'github';
  id: string;
  name: string;
  clientId: string;
  clientSecretRef: SecretKeyRef;
  orgs?: string[];
}

export interface OidcConnectorSpec {
  type: 'oidc';
  id: string;
  name: string;
  issuer: string;
  clientId: string;
  clientSecretRef: SecretKeyRef;
  scopes?: string[];
}

export interface LdapConnectorSpec {
  type: 'ldap';
  id: string;
  name: string;
  /** host:port of the LDAP server. */
  host: string;
  bindDN: string;
  bindPasswordRef: SecretKeyRef;
  userBaseDN: string;
  userFilter?: string;
  usernameAttr?: string;
  groupBaseDN?: string;
  insecureNoSSL?: boolean;
}

export type ConnectorSpec = GitHubConnectorSpec | OidcConnectorSpec | LdapConnectorSpec;

export interface StaticClientSpec {
  id: string;
  name?: string;
  redirectURIs: string[];
  /** The client's secret; generated (and kept across re-runs) when absent. */
  secretRef?: SecretKeyRef;
  public?: boolean;
}

/** A static Dex user (for development and tests). The password is hashed, never stored in clear. */
export interface StaticUserSpec {
  email: string;
  username: string;
  /** Secret key holding the clear password; hashed with bcrypt into Dex's config Secret. */
  passwordRef?: SecretKeyRef;
  /** Or a bcrypt hash given directly. */
  hash?: string;
  groups?: string[];
}

export interface ClaimsSpec {
  usernameClaim: string;
  usernamePrefix?: string;
  groupsClaim: string;
  groupsPrefix?: string;
}

export interface ResourcesSpec {
  requests?: { cpu?: string; memory?: string };
  limits?: { cpu?: string; memory?: string };
}

/** One validated description of a Dex installation. */
export interface PackSpec {
  /** Name of the target cluster (as configured under kubernetes.clusterLocatorMethods). */
  cluster: string;
  namespace: string;
  /** Prefix of every object's name, and the app.kubernetes.io/instance label. */
  instance: string;
  /** Value of the backstage.io/kubernetes-id label: the catalog entity the pack belongs to. */
  kubernetesId: string;
  dex: {
    version: string;
    /** The issuer URL; derived from the first Ingress host, or the Service DNS name, when absent. */
    issuerUrl?: string;
    exposure: ExposureSpec;
    replicas: number;
    resources?: ResourcesSpec;
    /** `kubernetes` keeps state in CRDs (needs Dex 2.30+ on Kubernetes 1.22+); `memory` loses it on restart. */
    storage: 'kubernetes' | 'memory';
  };
  authenticator: {
    enabled: boolean;
    version: string;
    exposure: ExposureSpec;
    replicas: number;
    resources?: ResourcesSpec;
    /** Public URL of the authenticator; derived like the issuer when absent. */
    url?: string;
    /** The kube-apiserver URL users' kubeconfigs point at. */
    apiServerUrl?: string;
    /** PEM of the CA users' kubeconfigs trust for the apiserver. */
    apiServerCaPem?: string;
  };
  /** Client id kube-apiserver accepts tokens for (also the authenticator's client). */
  clientId: string;
  connectors: ConnectorSpec[];
  staticClients: StaticClientSpec[];
  staticUsers: StaticUserSpec[];
  claims: ClaimsSpec;
  expiry: { idTokens: string; signingKeys: string };
  /** Replaces the registry of every image, e.g. registry.example.com/mirror. */
  imageRegistry?: string;
  /** Kubernetes version of the target (e.g. v1.35.4); constraints are checked against it. */
  kubernetesVersion?: string;
  /** Path of the CA file on the control-plane nodes, for the --oidc-ca-file flag. */
  apiServerCaFile: string;
}

/** What PackSpec fields may be given as input; everything else gets a default. */
export type PackSpecInput = Partial<Omit<PackSpec, 'dex' | 'authenticator' | 'claims' | 'expiry'>> & {
  cluster: string;
  namespace: string;
  dex?: Partial<PackSpec['dex']>;
  authenticator?: Partial<PackSpec['authenticator']>;
  claims?: Partial<ClaimsSpec>;
  expiry?: Partial<PackSpec['expiry']>;
};

/** One problem with a spec: the field (dotted path) and what to change. */
export interface SpecProblem {
  field: string;
  message: string;
}

/** The kube-apiserver settings that make it trust the pack's Dex. */
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

export type EndpointKind = 'ingress' | 'loadBalancer' | 'nodePort' | 'clusterIP';

export interface Endpoint {
  kind: EndpointKind;
  url: string;
  /** False while an address is still being assigned (pending LoadBalancer or Ingress). */
  ready: boolean;
}

export interface IngressStatus {
  name: string;
  className?: string;
  hosts: string[];
  tls: boolean;
  /** Load-balancer addresses (IPs or hostnames) written by the Ingress controller. */
  addresses: string[];
  state: 'pending' | 'ready';
}

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

export interface CertificateStatus {
  name: string;
  subject: string;
  notAfter: string;
  daysLeft: number;
}

export interface DexInstallation {
  cluster: string;
  namespace: string;
  instance: string;
  issuerUrl?: string;
  dex: ComponentStatus;
  authenticator?: ComponentStatus;
  certificates: CertificateStatus[];
  apiServer?: Pick<ApiServerSettings, 'flags' | 'authenticationConfiguration' | 'issuerUrl' | 'clientId'>;
  /**
   * Set when the cluster's kube-apiserver is configured through Cluster API (`clusterApi` mode):
   * the KubeadmControlPlane the settings were applied to, and its rollout. Absent in `report`
   * mode: the `apiServer` settings are to be applied by hand.
   */
  kubeadmControlPlane?: KubeadmControlPlaneStatus;
}

/** A KubeadmControlPlane that received a pack's kube-apiserver settings, as the status API reads it. */
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

export interface ClusterError {
  cluster: string;
  message: string;
}

export interface DexStatusResponse {
  entityRef: string;
  installations: DexInstallation[];
  errors: ClusterError[];
}

export interface DexVersionsResponse {
  dex: { allowed: string[]; default: string };
  authenticator: { allowed: string[]; default: string };
}

export interface DexClustersResponse {
  clusters: { name: string }[];
  default?: string;
}
