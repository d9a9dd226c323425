import { existingCluster, LocalCluster, startLocalCluster } from './cluster';

jest.setTimeout(180_000);

// @kubernetes/client-node is ESM-only; jest loads it through a native dynamic import.
async function coreApi(cluster: LocalCluster) {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromString(cluster.kubeconfig);
  return kc.makeApiClient(k8s.CoreV1Api);
}

describe('startLocalCluster', () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await startLocalCluster();
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('reports the real Kubernetes version', () => {
    expect(cluster.version).toMatch(/^v1\.3[4-9]\.\d+$/);
  });

  it('stores and returns a namespace and a ConfigMap through @kubernetes/client-node', async () => {
    const core = await coreApi(cluster);
    await core.createNamespace({ body: { metadata: { name: 'smoke' } } });
    await core.createNamespacedConfigMap({
      namespace: 'smoke',
      body: { metadata: { name: 'hello' }, data: { greeting: 'hi' } },
    });
    const read = await core.readNamespacedConfigMap({
      namespace: 'smoke',
      name: 'hello',
    });
    expect(read.data).toEqual({ greeting: 'hi' });
    const namespaces = await core.listNamespace();
    expect(namespaces.items.map(n => n.metadata?.name)).toContain('smoke');
  });

  it('is found again as an existing cluster from its kubeconfig (the KUBECONFIG path)', async () => {
    const existing = await existingCluster(cluster.kubeconfigPath);
    expect(existing).toMatchObject({
      server: cluster.server,
      token: cluster.token,
      version: cluster.version,
      external: true,
    });
    await expect(existing.stopApiServer()).rejects.toThrow(/existing cluster/);
    await existing.stop(); // leaves it running
    const read = await (
      await coreApi(existing)
    ).readNamespacedConfigMap({ namespace: 'smoke', name: 'hello' });
    expect(read.data?.greeting).toBe('hi');
  });

  it('survives an apiserver restart with its data', async () => {
    if (cluster.external) return; // an existing cluster (DEX_USE_KUBECONFIG=1) is not restarted
    await cluster.stopApiServer();
    await cluster.startApiServer();
    const read = await (
      await coreApi(cluster)
    ).readNamespacedConfigMap({ namespace: 'smoke', name: 'hello' });
    expect(read.data?.greeting).toBe('hi');
  });
});
