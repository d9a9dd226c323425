import './fastForge';
import { startLocalCluster } from '@backstage-dex/local-cluster';
import { clientNode, objectApi } from '../cluster/clientNode';
import { adminKubeConfig, createNamespace } from './helpers';
jest.setTimeout(300_000);
it('debug', async () => {
  const cluster = await startLocalCluster();
  const kc = await adminKubeConfig(cluster);
  const k8s = await clientNode();
  const api = await objectApi(kc);
  await createNamespace(kc, 'x');
  const body: any = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'x', labels: { a: 'b' } }, type: 'Opaque', data: { a: 'YQ==', b: 'Yg==' } };
  const created = await api.create({ ...body, metadata: { ...body.metadata, managedFields: [{ manager: 'backstage-dex', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:a': {}, 'f:b': {} }, 'f:metadata': { 'f:labels': { 'f:a': {} } }, 'f:type': {} } }] } }, undefined, undefined, 'backstage-dex');
  console.log(JSON.stringify(created.metadata?.managedFields));
  try { await api.create(body, undefined, undefined, 'backstage-dex'); } catch (e: any) { console.log('second create', e.code); }
  const applied = await api.patch({ ...body, data: { a: 'YQ==' } }, undefined, undefined, 'backstage-dex', true, k8s.PatchStrategy.ServerSideApply);
  console.log(JSON.stringify(applied.data), JSON.stringify(applied.metadata?.managedFields));
  await cluster.stop();
});
