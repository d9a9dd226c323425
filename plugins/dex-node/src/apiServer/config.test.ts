import { ConfigReader } from '@backstage/config';
import { apiServerModeOf, readApiServerModes } from './config';

const clusters = ['workload', 'management'];

describe('readApiServerModes', () => {
  it('reads a clusterApi entry; clusters without one are in report mode', () => {
    const modes = readApiServerModes(
      new ConfigReader({
        dex: {
          clusters: {
            workload: {
              apiServer: {
                mode: 'clusterApi',
                managementCluster: 'management',
                kubeadmControlPlane: {
                  namespace: 'capi',
                  name: 'workload-control-plane',
                },
              },
            },
          },
        },
      }),
      clusters,
    );
    expect(apiServerModeOf(modes, 'workload')).toEqual({
      mode: 'clusterApi',
      managementCluster: 'management',
      kubeadmControlPlane: {
        namespace: 'capi',
        name: 'workload-control-plane',
      },
      authentication: 'flags',
    });
    expect(apiServerModeOf(modes, 'management')).toEqual({ mode: 'report' });
    expect(
      apiServerModeOf(
        readApiServerModes(new ConfigReader({}), clusters),
        'workload',
      ),
    ).toEqual({ mode: 'report' });
  });

  it('reports every problem at once, naming the key and what to change', () => {
    const read = () =>
      readApiServerModes(
        new ConfigReader({
          dex: {
            clusters: {
              staging: { apiServer: { mode: 'clusterApi' } },
              workload: {
                apiServer: {
                  mode: 'clusterApi',
                  managementCluster: 'mgmt',
                  kubeadmControlPlane: { namespace: 'Capi_Clusters', name: '' },
                  authentication: 'token',
                },
              },
              management: { apiServer: { mode: 'kubeadm' } },
            },
          },
        }),
        clusters,
      );
    expect(read).toThrow(
      [
        'The dex.clusters configuration has 6 problem(s):',
        '- dex.clusters.staging: no configured cluster is named "staging" (configured: workload, management); use a name from kubernetes.clusterLocatorMethods',
        '- dex.clusters.workload.apiServer.managementCluster: "mgmt" is not a configured cluster (configured: workload, management)',
        '- dex.clusters.workload.apiServer.kubeadmControlPlane.namespace: "Capi_Clusters" is not a namespace name (DNS-1123 label)',
        '- dex.clusters.workload.apiServer.kubeadmControlPlane.name: required in clusterApi mode',
        '- dex.clusters.workload.apiServer.authentication: "token" is not supported; use flags or authenticationConfiguration',
        '- dex.clusters.management.apiServer.mode: "kubeadm" is not a mode; use report (hand back the flags) or clusterApi (apply them to a KubeadmControlPlane)',
      ].join('\n'),
    );
  });
});
