import { LocalCluster, sharedLocalCluster } from '@backstage-dex/local-cluster';
import type { KubeConfig } from '@kubernetes/client-node';
import { adminKubeConfig } from '../reliability/helpers';
import { clusterClient } from './client';

jest.setTimeout(120_000);

describe('reading one object from a real apiserver', () => {
  let cluster: LocalCluster;
  let kc: KubeConfig;

  beforeAll(async () => {
    cluster = await sharedLocalCluster();
    kc = await adminKubeConfig(cluster);
  });

  it('gives the object, or undefined when it does not exist or its kind is not served', async () => {
    const client = clusterClient(kc);
    const present = await client.read({
      apiVersion: 'v1',
      kind: 'Namespace',
      name: 'default',
    });
    expect(present?.metadata?.name).toBe('default');
    expect(
      await client.read({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: 'default',
        name: 'no-such-config-map',
      }),
    ).toBeUndefined();
    // Found by discovery: a group the apiserver does not serve, and a kind its version lacks.
    expect(
      await client.read({
        apiVersion: 'widgets.example.test/v1',
        kind: 'Widget',
        namespace: 'default',
        name: 'w',
      }),
    ).toBeUndefined();
    expect(
      await client.read({
        apiVersion: 'apps/v1',
        kind: 'Widget',
        namespace: 'default',
        name: 'w',
      }),
    ).toBeUndefined();
  });

  it('still fails on any other answer: credentials the apiserver refuses', async () => {
    // The kubeconfig's token is the only place the cluster's token appears in it.
    const refused = await adminKubeConfig({
      kubeconfig: cluster.kubeconfig.replace(cluster.token, 'wrong'),
    });
    await expect(
      clusterClient(refused).read({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: 'default',
        name: 'no-such-config-map',
      }),
    ).rejects.toMatchObject({ code: 401 });
  });
});
