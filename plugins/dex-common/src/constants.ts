/** Label values every object of a rendered pack carries (see DESIGN.md, Conventions). */
export const MANAGED_BY = 'backstage-dex';
export const PART_OF = 'dex-pack';

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_PART_OF = 'app.kubernetes.io/part-of';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_VERSION = 'app.kubernetes.io/version';
export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
/** Shared with the Backstage Kubernetes plugin, so it finds the pack's objects too. */
export const LABEL_KUBERNETES_ID = 'backstage.io/kubernetes-id';

/** Entity annotation: the Kubernetes id (label value) of the entity's objects. */
export const ANNOTATION_KUBERNETES_ID = 'backstage.io/kubernetes-id';
/** Entity annotation: comma-separated cluster names to ask; all configured clusters when absent. */
export const ANNOTATION_DEX_CLUSTERS = 'dex.backstage.io/clusters';

/** Field manager of every server-side apply this project does. */
export const FIELD_MANAGER = 'backstage-dex';
