import type { ProtoMessage } from '../cluster/protobuf';

/**
 * The fields the status reads of each listed kind (mapping.ts, snapshot.ts, read.ts, watch.ts and
 * the KubeadmControlPlane record), by their protobuf field numbers in k8s.io/api and
 * k8s.io/apimachinery (generated.proto; Kubernetes never renumbers a field). A list in protobuf
 * gives only these; a field the status starts to read must be added here, which
 * listedFields.test.ts checks by comparing the status of real objects listed both ways.
 */

const metadata: ProtoMessage = {
  1: { name: 'name', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'generation', type: 'int' },
  11: { name: 'labels', type: 'map' },
  12: { name: 'annotations', type: 'map' },
};

/** core/v1 LoadBalancerIngress and networking/v1 IngressLoadBalancerIngress (same numbers). */
const loadBalancer: ProtoMessage = {
  1: {
    name: 'ingress',
    repeated: true,
    type: {
      1: { name: 'ip', type: 'string' },
      2: { name: 'hostname', type: 'string' },
    },
  },
};

const deployment: ProtoMessage = {
  1: { name: 'metadata', type: metadata },
  2: {
    name: 'spec',
    type: {
      // *int32: 0 is a Deployment scaled to zero, absent is the default of 1.
      1: { name: 'replicas', type: 'int', keepZero: true },
      3: {
        name: 'template',
        type: {
          2: {
            name: 'spec',
            type: {
              2: {
                name: 'containers',
                repeated: true,
                type: {
                  1: { name: 'name', type: 'string' },
                  2: { name: 'image', type: 'string' },
                },
              },
            },
          },
        },
      },
    },
  },
  3: {
    name: 'status',
    type: {
      1: { name: 'observedGeneration', type: 'int' },
      2: { name: 'replicas', type: 'int' },
      3: { name: 'updatedReplicas', type: 'int' },
      7: { name: 'readyReplicas', type: 'int' },
      6: {
        name: 'conditions',
        repeated: true,
        type: {
          1: { name: 'type', type: 'string' },
          2: { name: 'status', type: 'string' },
        },
      },
    },
  },
};

const service: ProtoMessage = {
  1: { name: 'metadata', type: metadata },
  2: {
    name: 'spec',
    type: {
      1: {
        name: 'ports',
        repeated: true,
        type: {
          3: { name: 'port', type: 'int' },
          5: { name: 'nodePort', type: 'int' },
        },
      },
      3: { name: 'clusterIP', type: 'string' },
      4: { name: 'type', type: 'string' },
    },
  },
  3: {
    name: 'status',
    type: { 1: { name: 'loadBalancer', type: loadBalancer } },
  },
};

const ingress: ProtoMessage = {
  1: { name: 'metadata', type: metadata },
  2: {
    name: 'spec',
    type: {
      4: { name: 'ingressClassName', type: 'string' },
      2: {
        name: 'tls',
        repeated: true,
        type: { 1: { name: 'hosts', type: 'string', repeated: true } },
      },
      3: {
        name: 'rules',
        repeated: true,
        type: {
          1: { name: 'host', type: 'string' },
          // IngressRuleValue is inline in JSON: rule.http.
          2: {
            name: 'ingressRuleValue',
            inline: true,
            type: {
              1: {
                name: 'http',
                type: {
                  1: {
                    name: 'paths',
                    repeated: true,
                    type: { 1: { name: 'path', type: 'string' } },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
  3: {
    name: 'status',
    type: { 1: { name: 'loadBalancer', type: loadBalancer } },
  },
};

const configMap: ProtoMessage = {
  1: { name: 'metadata', type: metadata },
  2: { name: 'data', type: 'map' },
};

export const LISTED_FIELDS = {
  deployments: deployment,
  services: service,
  ingresses: ingress,
  configmaps: configMap,
};
