/**
 * The configuration dex-node reads (readClusters, readPolicy), for the scaffolder actions and the
 * dex backend plugin alike.
 */
export interface Config {
  /**
   * Clusters, in the Backstage Kubernetes plugin's format: configure them once for both. The Dex
   * plugins use locators of type `config` (clusters with authProvider `serviceAccount`) and
   * `localKubectlProxy`; any other type or auth provider is refused at startup, naming it.
   */
  kubernetes?: {
    clusterLocatorMethods?: Array<{
      /** config, or localKubectlProxy (http://localhost:8001, as `kubectl proxy` serves it; cluster "local"). */
      type: string;
      /** The clusters of a `config` locator. */
      clusters?: Array<{
        /** The name the template's cluster picker and the action's `cluster` input use. */
        name: string;
        /** https://host:port of the kube-apiserver. */
        url: string;
        /** How the backend authenticates: serviceAccount (the only one the Dex plugins support). */
        authProvider: string;
        /**
         * The service account's token; absent: the token of the pod the backend runs in.
         * @visibility secret
         */
        serviceAccountToken?: string;
        /**
         * Base64 of the PEM of the cluster's CA.
         * @visibility secret
         */
        caData?: string;
        /** Path of a PEM file with the cluster's CA (instead of caData). */
        caFile?: string;
        /** Skip verifying the kube-apiserver's certificate (development only). */
        skipTLSVerify?: boolean;
      }>;
    }>;
  };
  /**
   * The `dex:` section: what the platform team allows and prefers for the Dex packs developers
   * install (the versions and defaults are also visible to the frontend, so the template's field
   * extensions can preselect them).
   */
  dex?: {
    /**
     * Add the current context of $KUBECONFIG (or ~/.kube/config) as the cluster "local". Off by
     * default: without it, the Dex plugins use only kubernetes.clusterLocatorMethods and never
     * fall back to whatever the server's kubeconfig points at.
     */
    useLocalKubeconfig?: boolean;
    /**
     * Per cluster (by its name under kubernetes.clusterLocatorMethods), how its kube-apiserver
     * gets the pack's OIDC settings. Clusters without an entry are in `report` mode. Checked at
     * startup: an entry naming an unknown cluster or an incomplete clusterApi entry fails it.
     */
    clusters?: {
      [clusterName: string]: {
        /** This cluster's policy: each key given here replaces dex.policy's. */
        policy?: DexPolicyConfig;
        apiServer?: {
          /**
           * report (default): hand back the flags and AuthenticationConfiguration, to apply by hand.
           * clusterApi: apply them to the workload cluster's Cluster API KubeadmControlPlane.
           */
          mode?: 'report' | 'clusterApi';
          /** clusterApi: the configured cluster that holds the KubeadmControlPlane. */
          managementCluster?: string;
          /** clusterApi: the workload cluster's KubeadmControlPlane on the management cluster. */
          kubeadmControlPlane?: {
            namespace: string;
            name: string;
          };
          /**
           * clusterApi: `flags` (default) sets the --oidc-* extraArgs and writes the pack CA at
           * --oidc-ca-file; `authenticationConfiguration` (Kubernetes 1.30+) writes an
           * AuthenticationConfiguration file and sets --authentication-config instead.
           */
          authentication?: 'flags' | 'authenticationConfiguration';
        };
      };
    };
    /** Dex versions developers may install. */
    versions?: {
      /**
       * Versions developers may choose (e.g. ["2.45.1", "2.44.0"]); every catalogued version when
       * absent. Each must be in the version catalogue.
       * @visibility frontend
       */
      allowed?: string[];
      /**
       * The version preselected in the form and used when the action input names none; the
       * catalogue's newest allowed version when absent.
       * @visibility frontend
       */
      default?: string;
    };
    /** dex-k8s-authenticator, the web client that hands out kubeconfigs. */
    authenticator?: {
      versions?: {
        /**
         * dex-k8s-authenticator versions developers may choose; every catalogued one when absent.
         * @visibility frontend
         */
        allowed?: string[];
        /**
         * The authenticator version used when none is chosen.
         * @visibility frontend
         */
        default?: string;
      };
    };
    /** Defaults filled into a pack spec when the input leaves the field out. */
    defaults?: {
      /**
       * Namespace the pack is installed into (default "dex").
       * @visibility frontend
       */
      namespace?: string;
      /**
       * Service type of Dex and the authenticator (default ClusterIP).
       * @visibility frontend
       */
      serviceType?: 'ClusterIP' | 'LoadBalancer' | 'NodePort';
      /**
       * spec.ingressClassName of the pack's Ingresses when the input names none.
       * @visibility frontend
       */
      ingressClassName?: string;
    };
    /**
     * What developers may do on every cluster (dex.clusters.<name>.policy overrides it per key).
     * A spec outside it is refused before anything is written, naming the setting to change.
     */
    policy?: DexPolicyConfig;
    /** What developers may set on connectors. */
    connectors?: {
      /**
       * Whether an LDAP connector may skip verifying its server's certificate
       * (`insecureSkipVerify`); default false: give the server's CA with `rootCARef` instead.
       */
      allowInsecureSkipVerify?: boolean;
      /**
       * Whether an LDAP connector may connect without TLS (`insecureNoSSL`: the bind password and
       * users' passwords cross the network in clear text); default false.
       */
      allowInsecureNoSSL?: boolean;
    };
    /** How the dex:pack:apply action talks to a cluster. */
    apply?: {
      /**
       * Upper bound, in seconds, of every request to the cluster (default 30): an apiserver that
       * accepts the connection and never answers fails the run after this long, naming the cluster.
       */
      requestTimeoutSeconds?: number;
      /**
       * How long, in seconds, a run waits for a LoadBalancer Service's address (default 300) when
       * Dex or the authenticator is exposed by a LoadBalancer and no URL or Ingress host is given:
       * their URLs are derived from that address. After it, the run fails saying what to do.
       */
      loadBalancerTimeoutSeconds?: number;
    };
  };
}

/**
 * What developers may do: `dex.policy` on every cluster, and `dex.clusters.<name>.policy`, each
 * key of which replaces dex.policy's on that cluster. A spec outside it is refused before anything
 * is written, naming the setting to change.
 */
interface DexPolicyConfig {
  /**
   * Namespace patterns (`*` any run of characters, `?` one character) developers may install
   * into; every namespace when absent. kube-system, kube-public, kube-node-lease and default
   * only when listed exactly (a pattern such as `*` does not open them).
   * @visibility frontend
   */
  namespaces?: string[];
  /**
   * IngressClass names the pack's Ingresses may use; any when absent.
   * @visibility frontend
   */
  ingressClasses?: string[];
  /**
   * Annotation key patterns the pack's Ingresses may carry (e.g. `cert-manager.io/*`); any
   * when absent. Keys containing `snippet` or whose name starts with `auth-` (ingress-nginx's
   * server-snippet, configuration-snippet, auth-url, ...) only when listed exactly.
   */
  ingressAnnotations?: string[];
  /**
   * Registry (host with optional path) that replaces the registry of every image, e.g. a
   * mirror such as registry.example.com/mirror. Only here: never from a template or the
   * action's input.
   */
  imageRegistry?: string;
  /**
   * Whether a spec may set an empty username or groups prefix (upstream names then reach the
   * kube-apiserver as they are). Default false. Prefixes starting with system: are always refused.
   */
  allowEmptyClaimPrefixes?: boolean;
  /**
   * The label that marks a Secret in a pack's namespace as usable by packs (connector client
   * secrets, LDAP bind passwords, static users' passwords). A spec may reference only such
   * Secrets and the one the pack makes from the form's secret fields. Default
   * dex.backstage.io/usable-by-packs=true.
   */
  usableSecretLabel?: { key: string; value: string };
}
