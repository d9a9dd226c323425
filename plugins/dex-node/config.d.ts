/**
 * The part of the `dex:` section read by @backstage-dex/plugin-dex-node itself (the scaffolder
 * module and the backend read the rest).
 */
export interface Config {
  dex?: {
    /**
     * Per cluster (by its name under kubernetes.clusterLocatorMethods), how its kube-apiserver
     * gets the pack's OIDC settings. Clusters without an entry are in `report` mode. Checked at
     * startup: an entry naming an unknown cluster or an incomplete clusterApi entry fails it.
     */
    clusters?: {
      [clusterName: string]: {
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
  };
}
