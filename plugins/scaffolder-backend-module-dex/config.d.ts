/**
 * The `dex:` section of app-config.yaml: what the platform team allows and prefers for the Dex
 * packs developers install. Read by the scaffolder actions and by the dex backend plugin (the
 * versions and defaults are also visible to the frontend, so the template's field extensions can
 * preselect them). Clusters are not configured here: they are the Kubernetes plugin's
 * `kubernetes.clusterLocatorMethods`.
 */
export interface Config {
  dex?: {
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
      /**
       * Registry (host with optional path) that replaces the registry of every image, e.g. a
       * mirror such as registry.example.com/mirror.
       */
      imageRegistry?: string;
    };
  };
}
