import type { KubernetesObject } from '@kubernetes/client-node';
import {
  FIELD_MANAGER,
  LABEL_INSTANCE,
  LABEL_KUBERNETES_ID,
  LABEL_MANAGED_BY,
  MANAGED_BY,
} from '@backstage-dex/plugin-dex-common';
import { PackOwner, stampOwner } from '../pack/ownership';
import type { KubeObject } from '../pack/render';
import { dexCrds } from '../pack/crds';
import { memoryCluster } from '../__testUtils__/memoryCluster';
import { applyObjects, isConcurrentChange } from './apply';
import type { ClusterClient } from './client';

const owner: PackOwner = {
  entityRef: 'component:default/payments',
  instance: 'dex',
  kubernetesId: 'payments',
};
const ours = {
  [LABEL_MANAGED_BY]: MANAGED_BY,
  [LABEL_INSTANCE]: 'dex',
  [LABEL_KUBERNETES_ID]: 'payments',
};
const ns: KubeObject = {
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name: 'team', labels: ours },
};
const cm = (
  data: Record<string, string>,
  labels: Record<string, string> = ours,
): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'dex-settings', namespace: 'team', labels },
  data,
});
const secret: KubeObject = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'dex-ca', namespace: 'team', labels: ours },
  data: { 'ca.crt': 'eA==' },
};

describe('applyObjects (against a ClusterClient)', () => {
  it('creates what is missing, Namespace first, and reports each object', async () => {
    const { client, writes } = memoryCluster();
    const result = await applyObjects(client, [cm({ a: '1' }), ns], { owner });
    expect(result.objects.map(o => `${o.action} ${o.kind}`)).toEqual([
      'create ConfigMap',
      'create Namespace',
    ]);
    expect(writes.map(w => w.key)).toEqual([
      'Namespace//team',
      'ConfigMap/team/dex-settings',
    ]);
    expect(result.writes).toBe(2);
  });

  it('binds a Role after it exists and before the Deployment whose pods use the binding', async () => {
    const { client, writes } = memoryCluster();
    const meta = (name: string) => ({ name, namespace: 'team', labels: ours });
    const rbac = 'rbac.authorization.k8s.io/v1';
    await applyObjects(
      client,
      [
        { apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta('dex') },
        { apiVersion: rbac, kind: 'RoleBinding', metadata: meta('dex') },
        { apiVersion: rbac, kind: 'Role', metadata: meta('dex') },
        ns,
      ],
      { owner },
    );
    expect(writes.map(w => w.key)).toEqual([
      'Namespace//team',
      'Role/team/dex',
      'RoleBinding/team/dex',
      'Deployment/team/dex',
    ]);
  });

  it('writes nothing on an unchanged re-run, and only the changed object with its changed fields', async () => {
    const { client, writes } = memoryCluster([ns, cm({ a: '1', b: '2' })]);
    const same = await applyObjects(client, [ns, cm({ a: '1', b: '2' })], {
      owner,
    });
    expect(same.writes).toBe(0);
    expect(writes).toEqual([]);
    const changed = await applyObjects(client, [ns, cm({ a: '1', b: '3' })], {
      owner,
    });
    expect(changed.objects.find(o => o.kind === 'ConfigMap')).toMatchObject({
      action: 'update',
      fields: ['data.b'],
    });
    expect(writes.map(w => w.key)).toEqual(['ConfigMap/team/dex-settings']);
  });

  it("refuses someone else's object, naming it and its manager, and writes nothing at all", async () => {
    const foreign = {
      ...cm({ a: 'theirs' }, {}),
      metadata: {
        ...cm({}).metadata,
        labels: {},
        managedFields: [{ manager: 'kubectl-edit' }],
      },
    } as KubernetesObject;
    const { client, writes } = memoryCluster([foreign]);
    await expect(
      applyObjects(client, [ns, cm({ a: '1' })], { owner }),
    ).rejects.toThrow(
      'These objects already exist and do not belong to this installation (component:default/payments, instance "dex"): ConfigMap/team/dex-settings (managed by kubectl-edit). Nothing was applied.',
    );
    expect(writes).toEqual([]);
    const forced = await applyObjects(client, [ns, cm({ a: '1' })], {
      owner,
      force: true,
    });
    expect(forced.objects.find(o => o.kind === 'ConfigMap')?.action).toBe(
      'update',
    );
  });

  it("leaves someone else's Namespace as it is", async () => {
    const { client, writes } = memoryCluster([
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'team', labels: {} },
      },
    ]);
    const result = await applyObjects(client, [ns], { owner });
    expect(result.objects[0]).toMatchObject({
      action: 'skip',
      reason: expect.stringContaining('belongs to someone else'),
    });
    expect(writes).toEqual([]);
  });

  it('creates a guarded object only if still absent: another run that got there first is a concurrent change', async () => {
    const { client } = memoryCluster([ns]);
    const existing = new Map<string, KubernetesObject>();
    // Another run creates the Secret after this one read the cluster (existing says: absent).
    await client.create(secret);
    const run = applyObjects(client, [ns, secret], {
      owner,
      guarded: ['Secret/team/dex-ca'],
      existing,
    });
    const error = await run.catch(e => e);
    expect(isConcurrentChange(error)).toBe(true);
    expect(error.message).toMatch(
      /created or changed by another run at the same time/,
    );
  });

  it('in a dry run sends every write as a dry run', async () => {
    const { client, writes, objects } = memoryCluster([ns]);
    await applyObjects(client, [ns, cm({ a: '1' })], { owner, dryRun: true });
    expect(writes.every(w => w.dryRun)).toBe(true);
    expect(objects.has('ConfigMap/team/dex-settings')).toBe(false);
  });

  it('refuses an object the pack wrote for another entity or instance, naming its owner; force takes it over', async () => {
    const [theirs] = stampOwner([cm({ a: '1' })], {
      ...owner,
      entityRef: 'component:default/billing',
    });
    const { client, writes } = memoryCluster([ns, theirs as KubernetesObject]);
    await expect(
      applyObjects(client, [ns, cm({ a: '2' })], { owner }),
    ).rejects.toThrow(
      'ConfigMap/team/dex-settings (belongs to component:default/billing, instance "dex")',
    );
    expect(writes).toEqual([]);
    const other = await applyObjects(client, [ns, cm({ a: '2' })], {
      owner: { ...owner, entityRef: 'component:default/billing' },
    });
    expect(other.objects.find(o => o.kind === 'ConfigMap')?.action).toBe(
      'update',
    );
  });

  it('adopts objects the pack wrote before the ownership annotations when instance and kubernetes-id match', async () => {
    const managed = {
      ...cm({ a: '1' }),
      metadata: {
        ...cm({}).metadata,
        managedFields: [{ manager: FIELD_MANAGER }],
      },
    };
    const { client } = memoryCluster([ns, managed as KubernetesObject]);
    const result = await applyObjects(client, [ns, cm({ a: '2' })], { owner });
    expect(result.objects.find(o => o.kind === 'ConfigMap')?.action).toBe(
      'update',
    );
    await expect(
      applyObjects(client, [ns, cm({ a: '2' })], {
        owner: { ...owner, instance: 'dex-2' },
      }),
    ).rejects.toThrow(/belongs to kubernetes-id "payments", instance "dex"/);
  });
});

describe("Dex's storage CRDs (shared by every installation)", () => {
  const [crd] = dexCrds();

  it('go with the Namespace first; the rest waits until their resources list (404/429 meanwhile)', async () => {
    const memory = memoryCluster();
    const events: string[] = [];
    let refused = 0;
    const client: ClusterClient = {
      ...memory.client,
      async list(kind, selector, options) {
        if (kind.kind === 'AuthCode' && refused < 2) {
          refused += 1;
          events.push(`list ${kind.kind}: 429`);
          throw Object.assign(new Error('storage is (re)initializing'), {
            code: 429,
          });
        }
        events.push(`list ${kind.kind} in ${kind.namespace}`);
        return memory.client.list(kind, selector, options);
      },
      async apply(object, options) {
        events.push(`apply ${object.kind}`);
        return memory.client.apply(object, options);
      },
    };
    await applyObjects(client, [cm({ a: '1' }), crd, ns], { owner });
    expect(events).toEqual([
      'apply CustomResourceDefinition',
      'apply Namespace',
      'list AuthCode: 429',
      'list AuthCode: 429',
      'list AuthCode in team',
      'apply ConfigMap',
    ]);
  });

  it("are the pack's whoever applied them: another installation's run finds them unchanged", async () => {
    const { client, writes } = memoryCluster([crd as KubernetesObject]);
    const other = { ...owner, entityRef: 'component:default/billing' };
    const result = await applyObjects(client, [crd], { owner: other });
    expect(result.objects.map(o => o.action)).toEqual(['unchanged']);
    expect(writes).toEqual([]);
  });

  it('made by someone else (Dex itself, a Helm chart): left as they are, even with force', async () => {
    const theirs = {
      ...crd,
      metadata: {
        name: crd.metadata.name,
        managedFields: [{ manager: 'dex' }],
      },
    } as KubernetesObject;
    const { client, writes } = memoryCluster([theirs]);
    const result = await applyObjects(client, [crd], { owner, force: true });
    expect(result.objects).toEqual([
      expect.objectContaining({
        action: 'skip',
        reason: 'exists, managed by dex; left as it is',
      }),
    ]);
    expect(writes).toEqual([]);
  });
});
