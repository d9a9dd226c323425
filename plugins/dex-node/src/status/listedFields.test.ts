import { LocalCluster, sharedLocalCluster } from '@backstage-dex/local-cluster';
import { withDefaults } from '@backstage-dex/plugin-dex-common';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { clusterClient } from '../cluster/client';
import { projectJson } from '../cluster/protobuf';
import { clientNode } from '../cluster/clientNode';
import { provisionPack } from '../provision';
import { adminKubeConfig } from '../reliability/helpers';
import { installationsFromSnapshot } from './mapping';
import { readDexStatus, statusLabelSelector } from './read';
import { serviceAccountKubeConfig } from '../__testUtils__/statusReader';
import { LISTED, snapshotFromLists } from './snapshot';
import { StatusResource } from './types';

// The status lists in protobuf for the fields it reads (listedFields.ts). Here the same real
// objects are listed in JSON too: every decoded value must be the JSON's, and the installations
// made from both must be the same, so a field the status reads but the list leaves out shows up.

jest.setTimeout(180_000);

const ENTITY = 'component:default/listed-fields';
const ID = `listed-fields-${Date.now().toString(36)}`;
const NS = ID;

/** Every value in `part` is the one at the same place in `whole`. */
function expectSubset(part: unknown, whole: unknown, path = '') {
  if (part && typeof part === 'object') {
    expect([path, Array.isArray(part)]).toEqual([path, Array.isArray(whole)]);
    if (Array.isArray(part))
      expect([path, part.length]).toEqual([path, (whole as []).length]);
    for (const [k, v] of Object.entries(part))
      expectSubset(v, (whole as Record<string, unknown>)?.[k], `${path}.${k}`);
  } else {
    expect([path, part]).toEqual([path, whole]);
  }
}

describe('the status lists in protobuf on a real apiserver', () => {
  let cluster: LocalCluster;
  let kc: KubeConfig;

  beforeAll(async () => {
    cluster = await sharedLocalCluster();
    kc = await adminKubeConfig(cluster);
    const k8s = await clientNode();
    await provisionPack(
      kc,
      withDefaults({
        cluster: 'local',
        namespace: NS,
        kubernetesId: ID,
        dex: {
          exposure: {
            serviceType: 'NodePort',
            ingress: {
              enabled: true,
              className: 'nginx',
              hosts: [`dex.${NS}.example.test`],
            },
          },
        },
        authenticator: {
          url: `https://login.${NS}.example.test`,
          exposure: { serviceType: 'LoadBalancer' },
        },
      }),
      { entityRef: ENTITY },
    );
    // What controllers write: rollouts, a load balancer's and an ingress controller's addresses;
    // and someone scaling the authenticator to zero.
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const networking = kc.makeApiClient(k8s.NetworkingV1Api);
    await apps.patchNamespacedDeployment(
      {
        name: 'dex-authenticator',
        namespace: NS,
        body: [{ op: 'replace', path: '/spec/replicas', value: 0 }],
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    const dex = await apps.readNamespacedDeployment({
      name: 'dex',
      namespace: NS,
    });
    dex.status = {
      observedGeneration: dex.metadata!.generation,
      replicas: 2,
      updatedReplicas: 1,
      readyReplicas: 1,
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
        },
      ],
    };
    await apps.replaceNamespacedDeploymentStatus({
      name: 'dex',
      namespace: NS,
      body: dex,
    });
    const lb = await core.readNamespacedService({
      name: 'dex-authenticator',
      namespace: NS,
    });
    lb.status = {
      loadBalancer: {
        ingress: [{ ip: '192.0.2.10' }, { hostname: 'lb.example.test' }],
      },
    };
    await core.replaceNamespacedServiceStatus({
      name: 'dex-authenticator',
      namespace: NS,
      body: lb,
    });
    const ingress = await networking.readNamespacedIngress({
      name: 'dex',
      namespace: NS,
    });
    ingress.status = { loadBalancer: { ingress: [{ ip: '192.0.2.20' }] } };
    await networking.replaceNamespacedIngressStatus({
      name: 'dex',
      namespace: NS,
      body: ingress,
    });
  });

  it('gives the JSON values of the fields the status reads, and the same installations', async () => {
    const client = clusterClient(kc);
    const selector = statusLabelSelector(ID);
    const lists = async (json: boolean) => {
      const of = async (resource: StatusResource) => {
        const { fields, ...kind } = LISTED[resource];
        return (
          await client.listVersioned!(kind, selector, json ? {} : { fields })
        ).items;
      };
      return {
        deployments: await of('deployments'),
        services: await of('services'),
        ingresses: await of('ingresses'),
        configMaps: await of('configmaps'),
      };
    };
    const [fromProtobuf, fromJson] = [await lists(false), await lists(true)];

    for (const resource of Object.keys(fromJson) as (keyof typeof fromJson)[]) {
      const { fields } =
        LISTED[resource === 'configMaps' ? 'configmaps' : resource];
      const proto = fromProtobuf[resource];
      const json = fromJson[resource];
      const key = (o: KubernetesObject) => o.metadata?.name;
      expect(proto.map(key).sort()).toEqual(json.map(key).sort());
      expect(proto.length).toBeGreaterThan(0);
      for (const p of proto) {
        const j = json.find(o => key(o) === key(p))!;
        // Protobuf it was: JSON would have brought every field, managedFields too.
        expect(j.metadata?.managedFields).toBeDefined();
        expect(p.metadata?.managedFields).toBeUndefined();
        expectSubset(p, j, `${resource}/${key(p)}`);
        // A watch event's object (JSON) is kept as the list gives it: the same fields and values.
        expect({
          apiVersion: j.apiVersion,
          kind: j.kind,
          ...projectJson(j as Record<string, unknown>, fields!),
        }).toEqual(p);
      }
    }

    const now = new Date('2027-01-01T00:00:00Z');
    const installations = (listed: typeof fromJson) =>
      installationsFromSnapshot(
        { name: 'local', server: cluster.server },
        snapshotFromLists(listed),
        { now },
      );
    const [installation] = installations(fromProtobuf);
    expect(installations(fromProtobuf)).toEqual(installations(fromJson));
    // What the controllers wrote reaches the status.
    expect(installation.dex).toMatchObject({
      health: 'unhealthy',
      replicas: { desired: 1, ready: 1, updated: 1 },
      ingress: { addresses: ['192.0.2.20'], state: 'ready' },
    });
    expect(installation.dex.endpoints.map(e => e.kind)).toEqual([
      'ingress',
      'nodePort',
      'clusterIP',
    ]);
    expect(installation.authenticator).toMatchObject({
      replicas: { desired: 0 },
      serviceType: 'LoadBalancer',
    });
    expect(installation.authenticator!.endpoints).toContainEqual({
      kind: 'loadBalancer',
      url: 'https://192.0.2.10:5555',
      ready: true,
    });
    expect(installation.certificates.length).toBeGreaterThan(1);
    expect(installation.apiServer?.issuerUrl).toBe(
      `https://dex.${NS}.example.test`,
    );
    expect(installation.spec?.namespace).toBe(NS);
  });

  it("reads a refusal answered in protobuf as the apiserver's message", async () => {
    // A ServiceAccount without any role: the apiserver refuses in the encoding asked for.
    const nobody = await serviceAccountKubeConfig(kc, cluster, `${ID}-nobody`);
    const status = await readDexStatus({
      clusters: [{ name: 'local', kc: nobody }],
      kubernetesId: ID,
      entityRef: ENTITY,
    });
    expect(status.installations).toEqual([]);
    expect(status.errors).toEqual([
      {
        cluster: 'local',
        message: expect.stringMatching(
          /forbidden \(403\): \S+ is forbidden: User "system:serviceaccount:.*" cannot list resource/,
        ),
      },
    ]);
  });
});
