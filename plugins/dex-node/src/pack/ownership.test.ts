import type { KubernetesObject } from '@kubernetes/client-node';
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

  it("leaves the shared CRDs unstamped, and counts them as the pack's whoever applied them", () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: {
        name: 'authcodes.dex.coreos.com',
        labels: { 'app.kubernetes.io/managed-by': 'backstage-dex' },
      },
    };
    const [stamped] = stampOwner([crd], owner);
    expect(stamped.metadata.annotations).toBeUndefined();
    const other = { ...owner, entityRef: 'component:default/billing' };
    expect(
      ownershipOf(
        {
          ...crd,
          metadata: {
            ...crd.metadata,
            managedFields: [{ manager: 'backstage-dex' }],
          },
        },
        other,
      ),
    ).toEqual({ kind: 'ours' });
    // Made by Dex itself (or a Helm chart): someone else's.
    expect(
      ownershipOf(
        {
          ...crd,
          metadata: {
            name: crd.metadata.name,
            managedFields: [{ manager: 'dex' }],
          },
        },
        owner,
      ),
    ).toEqual({ kind: 'foreign', by: 'managed by dex' });
  });
});
