/* eslint-disable jest/no-conditional-expect -- every example runs through one test body; each is also checked for the option it exercises */
import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { LocalCluster, sharedLocalCluster } from '@backstage-dex/local-cluster';
import {
  DEFAULT_USABLE_SECRET_LABEL,
  LABEL_KUBERNETES_ID,
  LABEL_MANAGED_BY,
} from '@backstage-dex/plugin-dex-common';
import type { KubeConfig } from '@kubernetes/client-node';
import { exampleInput, runAction } from '../__testUtils__/mockContext';
import { createDexPackApplyAction } from './packApply';
import { examples } from './packApply.examples';

// A real kube-apiserver, and certificates signed in pure JS (slow under jest).
jest.setTimeout(180_000);

describe('dex:pack:apply examples, against a real apiserver', () => {
  let cluster: LocalCluster;
  let kc: KubeConfig;
  let k8s: typeof import('@kubernetes/client-node');
  let action: ReturnType<typeof createDexPackApplyAction>;

  async function secret(
    namespace: string,
    name: string,
    data: Record<string, string>,
    type = 'Opaque',
  ) {
    await kc.makeApiClient(k8s.CoreV1Api).createNamespacedSecret({
      namespace,
      body: {
        // Marked by the platform as usable by Dex packs (the default label).
        metadata: {
          name,
          labels: {
            [DEFAULT_USABLE_SECRET_LABEL.key]:
              DEFAULT_USABLE_SECRET_LABEL.value,
          },
        },
        type,
        data: Object.fromEntries(
          Object.entries(data).map(([k, v]) => [
            k,
            Buffer.from(v).toString('base64'),
          ]),
        ),
      },
    });
  }

  async function createNamespace(name: string) {
    await kc
      .makeApiClient(k8s.CoreV1Api)
      .createNamespace({ body: { metadata: { name } } });
  }

  beforeAll(async () => {
    cluster = await sharedLocalCluster();
    k8s = await import('@kubernetes/client-node');
    kc = new k8s.KubeConfig();
    kc.loadFromString(cluster.kubeconfig);
    action = createDexPackApplyAction({
      permissions: mockServices.permissions(),
      config: new ConfigReader({
        kubernetes: {
          clusterLocatorMethods: [
            {
              type: 'config',
              clusters: [
                {
                  name: 'production',
                  url: cluster.server,
                  authProvider: 'serviceAccount',
                  serviceAccountToken: cluster.token,
                  caData: Buffer.from(cluster.caPem).toString('base64'),
                },
              ],
            },
          ],
        },
      }),
    });

    // What the examples reference: Secrets they name, and a foreign object the "force" example takes over.
    await createNamespace('payments-dex');
    await secret(
      'payments-dex',
      'dex-payments-example-com-tls',
      { 'tls.crt': 'x', 'tls.key': 'y' },
      'kubernetes.io/tls',
    );
    await createNamespace('dex-github');
    await secret('dex-github', 'github-oauth', {
      'client-secret': 'gh-secret',
    });
    await createNamespace('legacy-dex');
    await kc.makeApiClient(k8s.CoreV1Api).createNamespacedConfigMap({
      namespace: 'legacy-dex',
      body: {
        metadata: { name: 'dex-apiserver-settings' },
        data: { note: 'hand-made' },
      },
      fieldManager: 'someone-else',
    });
  });

  const caOf = async (namespace: string) =>
    (
      await kc
        .makeApiClient(k8s.CoreV1Api)
        .readNamespacedSecret({ name: 'dex-ca', namespace })
    ).data!['tls.crt'];

  it.each(examples.map((e, i) => [i, e.description, e] as const))(
    'example %i: %s',
    async (_, __, example) => {
      // As the scaffolder renders it: the template's secret field's value in place of ${{ secrets.x }}.
      const input = JSON.parse(
        JSON.stringify(exampleInput(example)).replace(
          '${{ secrets.testUserPassword }}',
          'correct horse',
        ),
      );
      const ns = String(input.namespace);
      const caBefore = input.rotateCertificates ? await caOf(ns) : undefined;

      const { outputs, logs } = await runAction(action, { input });

      expect(outputs.issuerUrl).toMatch(/^https:\/\//);
      expect(outputs.apiServerFlags).toEqual(
        expect.arrayContaining([`--oidc-issuer-url=${outputs.issuerUrl}`]),
      );
      expect(String(outputs.authenticationConfiguration)).toContain(
        'kind: AuthenticationConfiguration',
      );
      const objects = outputs.objects as {
        kind: string;
        name: string;
        action: string;
      }[];
      expect(objects.length).toBeGreaterThan(5);

      const deployments = await kc
        .makeApiClient(k8s.AppsV1Api)
        .listNamespacedDeployment({ namespace: ns });
      expect(deployments.items.length).toBeGreaterThan(0);
      for (const d of deployments.items)
        expect(d.metadata!.labels![LABEL_MANAGED_BY]).toBe('backstage-dex');
      if (input.entityRef) {
        expect(outputs.entityRef).toBe('component:default/payments-api');
        expect(
          deployments.items[0].metadata!.labels![LABEL_KUBERNETES_ID],
        ).toBe('payments-api');
      }
      if (input.rotateCertificates) {
        expect(await caOf(ns)).not.toBe(caBefore);
        expect(objects.find(o => o.name === 'dex-clients')?.action).toBe(
          'unchanged',
        );
      }
      if (input.force) {
        expect(
          objects.find(o => o.name === 'dex-apiserver-settings')?.action,
        ).toBe('update');
        const cm = await kc
          .makeApiClient(k8s.CoreV1Api)
          .readNamespacedConfigMap({
            name: 'dex-apiserver-settings',
            namespace: ns,
          });
        expect(cm.metadata!.labels![LABEL_MANAGED_BY]).toBe('backstage-dex');
      }

      const clients = await kc
        .makeApiClient(k8s.CoreV1Api)
        .readNamespacedSecret({
          name: `${input.instance ?? 'dex'}-clients`,
          namespace: ns,
        });
      const clientSecret = Buffer.from(
        clients.data!.kubernetes,
        'base64',
      ).toString();
      for (const text of [JSON.stringify(outputs), logs.join('\n')]) {
        expect(text).not.toContain(clientSecret);
        expect(text).not.toContain('PRIVATE KEY');
        expect(text).not.toContain('correct horse');
      }
    },
  );
});
