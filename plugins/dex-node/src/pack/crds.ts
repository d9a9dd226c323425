import {
  LABEL_MANAGED_BY,
  LABEL_NAME,
  LABEL_PART_OF,
  MANAGED_BY,
  PART_OF,
} from '@backstage-dex/plugin-dex-common';
import type { KubeObject } from './render';

/** The API group of Dex's kubernetes storage. */
export const DEX_STORAGE_GROUP = 'dex.coreos.com';

/**
 * The custom resources Dex's kubernetes storage keeps its state in, as its
 * storage/kubernetes/types.go defines them. The same ten in every catalogued release from 2.25
 * (2.21 uses the first eight); Dex creates them itself when it may, and otherwise only lists
 * them at start ("already available, skipping create") in its own namespace.
 */
const DEX_RESOURCES: { kind: string; plural: string; singular: string }[] = [
  { kind: 'AuthCode', plural: 'authcodes', singular: 'authcode' },
  { kind: 'AuthRequest', plural: 'authrequests', singular: 'authrequest' },
  { kind: 'OAuth2Client', plural: 'oauth2clients', singular: 'oauth2client' },
  // Dex's own (old TPR) pluralisations.
  { kind: 'SigningKey', plural: 'signingkeies', singular: 'signingkey' },
  { kind: 'RefreshToken', plural: 'refreshtokens', singular: 'refreshtoken' },
  { kind: 'Password', plural: 'passwords', singular: 'password' },
  {
    kind: 'OfflineSessions',
    plural: 'offlinesessionses',
    singular: 'offlinesessions',
  },
  { kind: 'Connector', plural: 'connectors', singular: 'connector' },
  {
    kind: 'DeviceRequest',
    plural: 'devicerequests',
    singular: 'devicerequest',
  },
  { kind: 'DeviceToken', plural: 'devicetokens', singular: 'devicetoken' },
];

/** The resource names (plurals) of Dex's storage, for the namespaced Role of its ServiceAccount. */
export const dexStorageResources = () => DEX_RESOURCES.map(r => r.plural);

/**
 * The verbs Dex's storage client uses (storage/kubernetes/client.go: GET, list, POST, PUT, DELETE;
 * no watch, patch or deletecollection).
 */
export const DEX_STORAGE_VERBS = ['get', 'list', 'create', 'update', 'delete'];

/**
 * Dex's CustomResourceDefinitions, as its storage would create them (apiextensions.k8s.io/v1,
 * namespaced, one served version v1 with an open schema). They are cluster-wide and shared by
 * every installation on the cluster, so they carry only the pack's shared labels: no instance,
 * entity or version (a run for another installation finds them unchanged, and removing one
 * installation by its labels leaves them for the others).
 */
export function dexCrds(): KubeObject[] {
  return DEX_RESOURCES.map(r => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${r.plural}.${DEX_STORAGE_GROUP}`,
      labels: {
        [LABEL_MANAGED_BY]: MANAGED_BY,
        [LABEL_PART_OF]: PART_OF,
        [LABEL_NAME]: 'dex',
      },
    },
    spec: {
      group: DEX_STORAGE_GROUP,
      names: {
        kind: r.kind,
        listKind: `${r.kind}List`,
        plural: r.plural,
        singular: r.singular,
      },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              'x-kubernetes-preserve-unknown-fields': true,
            },
          },
        },
      ],
    },
  }));
}
