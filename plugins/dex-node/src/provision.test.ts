import { LocalCluster, sharedLocalCluster } from '@backstage-dex/local-cluster';
import { withDefaults } from '@backstage-dex/plugin-dex-common';
import type { KubeConfig } from '@kubernetes/client-node';
import { clientNode } from './cluster/clientNode';
import { provisionPack } from './provision';
import { unexpectedFirstApplyActions } from './reliability/helpers';

jest.setTimeout(180_000);

describe('provisionPack on a real apiserver', () => {
  let cluster: LocalCluster;
  let kc: KubeConfig;

  beforeAll(async () => {
    cluster = await sharedLocalCluster();
    const k8s = await clientNode();
    kc = new k8s.KubeConfig();
    kc.loadFromString(cluster.kubeconfig);
  });

  const spec = (namespace: string) =>
    withDefaults({
      cluster: 'local',
      namespace,
      kubernetesId: 'payments-api',
      dex: {
        exposure: {
          serviceType: 'ClusterIP',
          ingress: { enabled: true, hosts: ['dex.example.test'] },
        },
      },
      authenticator: {
        exposure: {
          serviceType: 'LoadBalancer',
          ingress: { enabled: true, hosts: ['login.example.test'] },
        },
      },
    });

  async function secretVersions(namespace: string) {
    const k8s = await clientNode();
    const list = await kc
      .makeApiClient(k8s.CoreV1Api)
      .listNamespacedSecret({ namespace });
    return Object.fromEntries(
      list.items.map(s => [s.metadata!.name!, s.metadata!.resourceVersion!]),
    );
  }

  it('applies the whole pack, then changes nothing on a re-run, and rotates only when asked', async () => {
    const first = await provisionPack(kc, spec('provision-a'));
    expect(unexpectedFirstApplyActions(first.apply)).toEqual([]);
    expect(first.issuerUrl).toBe('https://dex.example.test');
    const before = await secretVersions('provision-a');

    const second = await provisionPack(kc, spec('provision-a'));
    expect(second.apply.writes).toBe(0);
    expect(second.apply.objects.map(o => o.action)).toEqual(
      second.apply.objects.map(() => 'unchanged'),
    );
    expect(second.caPem).toBe(first.caPem);
    expect(await secretVersions('provision-a')).toEqual(before);

    const rotated = await provisionPack(kc, spec('provision-a'), {
      rotateCertificates: true,
    });
    expect(rotated.caPem).not.toBe(first.caPem);
    const changed = rotated.apply.objects
      .filter(o => o.action === 'update')
      .map(o => `${o.kind}/${o.name}`);
    expect(changed).toEqual(
      expect.arrayContaining([
        'Secret/dex-ca',
        'Secret/dex-tls',
        'Secret/dex-authenticator-tls',
        'ConfigMap/dex-apiserver-settings',
      ]),
    );
    expect(changed).not.toContain('Secret/dex-clients');
  });
});
