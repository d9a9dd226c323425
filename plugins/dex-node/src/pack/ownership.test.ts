import type { KubernetesObject } from '@kubernetes/client-node';
import { withDefaults } from '@backstage-dex/plugin-dex-common';
import { objectNames } from './names';
import { PackOwner, ownershipOf, stampOwner } from './ownership';

const owner: PackOwner = {
  entityRef: 'component:default/payments-api',
  instance: 'dex',
  kubernetesId: 'payments-api',
};
const object = (metadata: KubernetesObject['metadata']): KubernetesObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata,
});

describe('ownership', () => {
  it('stamps the full entity ref and the instance on every object', () => {
    const [stamped] = stampOwner(
      [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'x', annotations: { keep: 'me' } },
        },
      ],
      owner,
    );
    expect(stamped.metadata.annotations).toEqual({
      keep: 'me',
      'dex.backstage.io/entity-ref': 'component:default/payments-api',
      'dex.backstage.io/instance': 'dex',
    });
  });

  it("tells this installation's objects from another entity's, another instance's and someone else's", () => {
    const [ours] = stampOwner(
      [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }],
      owner,
    );
    expect(ownershipOf(ours as KubernetesObject, owner)).toEqual({
      kind: 'ours',
    });
    expect(
      ownershipOf(ours as KubernetesObject, {
        ...owner,
        entityRef: 'component:other/payments-api',
      }),
    ).toEqual({
      kind: 'installation',
      by: 'component:default/payments-api, instance "dex"',
    });
    expect(
      ownershipOf(ours as KubernetesObject, { ...owner, instance: 'dex-2' }),
    ).toMatchObject({ kind: 'installation' });
    expect(
      ownershipOf(
        object({
          name: 'x',
          managedFields: [{ manager: 'kubectl-client-side-apply' }],
        }),
        owner,
      ),
    ).toEqual({ kind: 'foreign', by: 'managed by kubectl-client-side-apply' });
  });

  it('adopts objects of the pack stamped before the annotations existed only for the same instance and kubernetes-id', () => {
    const legacy = (labels: Record<string, string>) =>
      object({
        name: 'x',
        labels: { 'app.kubernetes.io/managed-by': 'backstage-dex', ...labels },
        managedFields: [{ manager: 'backstage-dex' }],
      });
    const same = {
      'app.kubernetes.io/instance': 'dex',
      'backstage.io/kubernetes-id': 'payments-api',
    };
    expect(ownershipOf(legacy(same), owner)).toEqual({ kind: 'ours' });
    expect(
      ownershipOf(
        legacy({ ...same, 'backstage.io/kubernetes-id': 'billing' }),
        owner,
      ),
    ).toMatchObject({ kind: 'installation' });
  });

  it('gives cluster-scoped objects names that do not collide across namespace and instance', () => {
    const names = (namespace: string, instance: string) =>
      objectNames(withDefaults({ cluster: 'c', namespace, instance }))
        .clusterRole;
    expect(names('a-b', 'c')).not.toBe(names('a', 'b-c'));
    expect(names('a-b', 'c')).toBe(names('a-b', 'c'));
    expect(names('a-b', 'c')).toMatch(/^a-b-c-[0-9a-f]{8}-crds$/);
  });
});
