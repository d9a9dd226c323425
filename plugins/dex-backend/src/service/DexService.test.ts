import { mockServices } from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { startHangingServer } from '@backstage-dex/local-cluster';
import { clustersOf, createDexService, kubernetesIdOf } from './DexService';

const entity = (annotations: Record<string, string> = {}): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'payments-api', annotations },
});

/** Config with these clusters in kubernetes.clusterLocatorMethods (service-account token "t"). */
const withClusters = (
  clusters: { name: string; url: string; skipTLSVerify?: boolean }[],
) => ({
  kubernetes: {
    clusterLocatorMethods: [
      {
        type: 'config',
        clusters: clusters.map(c => ({
          ...c,
          authProvider: 'serviceAccount',
          serviceAccountToken: 't',
        })),
      },
    ],
  },
});

describe('DexService', () => {
  it('reads clusters and the Kubernetes id from the annotations, with fallbacks', () => {
    expect(clustersOf(entity(), ['a', 'b'])).toEqual(['a', 'b']);
    expect(
      clustersOf(entity({ 'dex.backstage.io/clusters': ' b, c ,,b' }), [
        'a',
        'b',
      ]),
    ).toEqual(['b', 'c']);
    expect(kubernetesIdOf(entity())).toBe('payments-api');
    expect(
      kubernetesIdOf(entity({ 'backstage.io/kubernetes-id': 'payments' })),
    ).toBe('payments');
  });

  it("offers the platform's Ingress class and service type to the form", async () => {
    const dex = await createDexService({
      config: mockServices.rootConfig({
        data: {
          dex: {
            defaults: {
              ingressClassName: 'nginx',
              serviceType: 'LoadBalancer',
            },
          },
        },
      }),
      logger: mockServices.logger.mock(),
    });
    expect(dex.exposure()).toEqual({
      serviceTypes: ['ClusterIP', 'LoadBalancer', 'NodePort'],
      defaultServiceType: 'LoadBalancer',
      ingressClasses: ['nginx'],
      defaultIngressClass: 'nginx',
    });
  });

  it('reports unknown and misconfigured clusters as errors of those clusters, without calling them', async () => {
    const dex = await createDexService({
      config: mockServices.rootConfig({
        data: withClusters([{ name: 'broken', url: 'not a url' }]),
      }),
      logger: mockServices.logger.mock(),
    });
    const status = await dex.status(
      entity({ 'dex.backstage.io/clusters': 'broken,nowhere' }),
    );
    expect(status).toEqual({
      entityRef: 'component:default/payments-api',
      installations: [],
      errors: [
        { cluster: 'broken', message: expect.stringContaining('is not a URL') },
        {
          cluster: 'nowhere',
          message:
            'Cluster "nowhere" is not configured in kubernetes.clusterLocatorMethods; configured: broken',
        },
      ],
    });
    expect(dex.clusters()).toEqual({
      clusters: [{ name: 'broken' }],
      default: 'broken',
    });
    expect(dex.cacheStats()).toMatchObject({ misses: 0 });
  });

  it.each([0, -1, 1.5, 10 ** 10])(
    'refuses a status timeout of %s ms, naming the key and the range',
    async clusterTimeoutMs => {
      await expect(
        createDexService({
          config: mockServices.rootConfig({
            data: { dex: { status: { clusterTimeoutMs } } },
          }),
          logger: mockServices.logger.mock(),
        }),
      ).rejects.toThrow(
        `dex.status.clusterTimeoutMs: ${clusterTimeoutMs} cannot bound a call to a cluster; give a whole number of milliseconds from 1 to 300000 (default 5000)`,
      );
    },
  );

  it('refuses a Kubernetes id that is not a label value', async () => {
    const dex = await createDexService({
      config: mockServices.rootConfig({
        data: { kubernetes: { clusterLocatorMethods: [] } },
      }),
      logger: mockServices.logger.mock(),
    });
    await expect(
      dex.status(entity({ 'backstage.io/kubernetes-id': 'a,b=c' })),
    ).rejects.toMatchObject({ name: 'InputError' });
  });

  it("starts within the status timeout when a cluster never answers its watches' first lists", async () => {
    const hang = await startHangingServer();
    const logger = mockServices.logger.mock();
    const dex = await createDexService({
      config: mockServices.rootConfig({
        data: {
          ...withClusters([
            {
              name: 'hang',
              url: `https://127.0.0.1:${hang.port}`,
              skipTLSVerify: true,
            },
          ]),
          dex: { status: { clusterTimeoutMs: 300 } },
        },
      }),
      logger,
    });
    try {
      // Resolves (the plugin is up) although the cluster holds its lists; the copy is not current.
      await dex.startWatches();
      expect(dex.watchFreshness()).toEqual({
        hang: expect.objectContaining({ current: false }),
      });
      expect(logger.info).toHaveBeenCalledWith(
        expect.stringMatching(
          /^Dex status: first lists of 0 of 1 cluster\(s\) in \d+ ms; not listed yet \(listed per request until they are\): hang$/,
        ),
      );
    } finally {
      dex.stop();
      hang.close();
    }
  });
});
