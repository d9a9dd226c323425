import { LocalCluster, sharedLocalCluster } from '@backstage-dex/local-cluster';
import { DEFAULT_POLICY, withDefaults } from '@backstage-dex/plugin-dex-common';
import type { KubeConfig } from '@kubernetes/client-node';
import { clientNode } from './cluster/clientNode';
import { provisionPack } from './provision';
import {
  adminKubeConfig,
  unexpectedFirstApplyActions,
} from './reliability/helpers';

jest.setTimeout(180_000);

describe('provisionPack on a real apiserver', () => {
  let cluster: LocalCluster;
  let kc: KubeConfig;

  beforeAll(async () => {
    cluster = await sharedLocalCluster();
    kc = await adminKubeConfig(cluster);
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
  it('finds what drifted in the cluster on a re-run, and what a changed spec changes, however often the same spec ran before', async () => {
    const ns = 'provision-drift';
    await provisionPack(kc, spec(ns));
    // Unchanged re-runs: the renders they share between runs are made.
    for (let i = 0; i < 3; i++)
      expect((await provisionPack(kc, spec(ns))).apply.writes).toBe(0);

    const k8s = await clientNode();
    const patch = k8s.setHeaderOptions(
      'Content-Type',
      k8s.PatchStrategy.JsonPatch,
    );
    // Someone edits the Dex config and scales the authenticator by hand.
    await kc.makeApiClient(k8s.CoreV1Api).patchNamespacedSecret(
      {
        name: 'dex-config',
        namespace: ns,
        body: [
          {
            op: 'replace',
            path: '/data/config.yaml',
            value: Buffer.from('issuer: https://evil.example.test\n').toString(
              'base64',
            ),
          },
        ],
      },
      patch,
    );
    await kc.makeApiClient(k8s.AppsV1Api).patchNamespacedDeployment(
      {
        name: 'dex-authenticator',
        namespace: ns,
        body: [{ op: 'replace', path: '/spec/replicas', value: 3 }],
      },
      patch,
    );
    const repaired = await provisionPack(kc, spec(ns));
    expect(
      repaired.apply.objects
        .filter(o => o.action === 'update')
        .map(o => `${o.kind}/${o.name}`)
        .sort(),
    ).toEqual(['Deployment/dex-authenticator', 'Secret/dex-config']);
    expect((await provisionPack(kc, spec(ns))).apply.writes).toBe(0);

    // Another host for Dex: its Ingress, config, certificate and what embeds them change.
    const moved = spec(ns);
    moved.dex.exposure.ingress!.hosts = ['dex2.example.test'];
    const changed = await provisionPack(kc, moved);
    expect(changed.issuerUrl).toBe('https://dex2.example.test');
    expect(
      changed.apply.objects
        .filter(o => o.action === 'update')
        .map(o => `${o.kind}/${o.name}`),
    ).toEqual(
      expect.arrayContaining([
        'Ingress/dex',
        'Secret/dex-config',
        'Secret/dex-tls',
      ]),
    );
  });

  it('validates a spec again whenever it or the policy differs from one found valid, writing nothing', async () => {
    const ns = 'provision-validated';
    const valid = spec(ns);
    await provisionPack(kc, valid);
    const before = await secretVersions(ns);
    const refused = (
      input: typeof valid,
      options?: Parameters<typeof provisionPack>[2],
    ) =>
      provisionPack(kc, input, options).then(
        () => 'applied',
        (e: Error) => `${e.name}: ${e.message}`,
      );
    // An unknown field, even undefined (JSON would drop it), and a number JSON would turn into null.
    expect(
      await refused({ ...valid, unknownSetting: undefined } as typeof valid),
    ).toMatch(/^InputError: .*unknownSetting/s);
    expect(
      await refused({ ...valid, dex: { ...valid.dex, replicas: NaN } }),
    ).toMatch(/^InputError: .*dex\.replicas/s);
    // The same spec under a policy that does not allow its Dex version.
    const other = DEFAULT_POLICY.dex.allowedVersions.find(
      v => v !== valid.dex.version,
    )!;
    expect(
      await refused(valid, {
        policy: {
          ...DEFAULT_POLICY,
          dex: { ...DEFAULT_POLICY.dex, allowedVersions: [other] },
        },
      }),
    ).toMatch(/^InputError: .*not allowed by the platform/s);
    expect(await secretVersions(ns)).toEqual(before);
    expect((await provisionPack(kc, valid)).apply.writes).toBe(0);
  });
});
