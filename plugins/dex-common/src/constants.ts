/**
 * Label values every object of a rendered pack carries (see DESIGN.md, Conventions).
 *
 * @public
 */
export const MANAGED_BY = 'backstage-dex';
/** @public */
export const PART_OF = 'dex-pack';

/** @public */
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
/** @public */
export const LABEL_PART_OF = 'app.kubernetes.io/part-of';
/** @public */
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
/** @public */
export const LABEL_VERSION = 'app.kubernetes.io/version';
/** @public */
export const LABEL_NAME = 'app.kubernetes.io/name';
/** @public */
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
/**
 * Shared with the Backstage Kubernetes plugin, so it finds the pack's objects too.
 *
 * @public
 */
export const LABEL_KUBERNETES_ID = 'backstage.io/kubernetes-id';

/**
 * Entity annotation: the Kubernetes id (label value) of the entity's objects.
 *
 * @public
 */
export const ANNOTATION_KUBERNETES_ID = 'backstage.io/kubernetes-id';
/**
 * Entity annotation: comma-separated cluster names to ask; all configured clusters when absent.
 *
 * @public
 */
export const ANNOTATION_DEX_CLUSTERS = 'dex.backstage.io/clusters';

/**
 * Field manager of every server-side apply this project does.
 *
 * @public
 */
export const FIELD_MANAGER = 'backstage-dex';

/**
 * Object annotations: the catalog entity (full ref, kind:namespace/name) and the instance an
 * object of a pack belongs to. A run for another entity or instance does not touch the object
 * unless the user may take it over and asked to.
 *
 * @public
 */
export const ANNOTATION_OWNER_ENTITY_REF = 'dex.backstage.io/entity-ref';
/**
 * See {@link ANNOTATION_OWNER_ENTITY_REF}.
 *
 * @public
 */
export const ANNOTATION_OWNER_INSTANCE = 'dex.backstage.io/instance';

/**
 * Id of the public OAuth client every pack's Dex has for kubectl (kubelogin's `oidc-login`): it has
 * no secret, so a downloaded kubeconfig carries none. The pack's own client (`clientId`, the
 * kube-apiserver's audience) trusts it as a peer, so kubelogin asks for that audience
 * (`audience:server:client_id:<clientId>`) and kube-apiserver accepts the token.
 *
 * @public
 */
export const KUBECTL_CLIENT_ID = 'kubectl';
