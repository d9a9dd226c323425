import { HangingServer, startHangingServer } from '@backstage-dex/local-cluster';
import type { KubeConfig } from '@kubernetes/client-node';
import { clientNode } from '../cluster/clientNode';
import { applyToKubeadmControlPlane } from './kubeadmControlPlane';
import { readKubeadmControlPlaneStatus } from './rollout';

// A management cluster that accepts connections and never answers: every call must give up on time.
describe('a management cluster that does not answer', () => {
  let hang: HangingServer;
  let kc: KubeConfig;
  beforeAll(async () => {
    hang = await startHangingServer();
    const k8s = await clientNode();
    kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'm', server: `https://127.0.0.1:${hang.port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'm', cluster: 'm', user: 'u' }],
      currentContext: 'm',
    });
  });
  afterAll(() => hang.close());

  const ref = { namespace: 'capi', name: 'workload-control-plane' };

  it('the apply fails with the bound in the message', async () => {
    const settings = { args: { 'oidc-issuer-url': 'https://dex.example.com' }, files: [] };
    await expect(applyToKubeadmControlPlane(kc, settings, { ref, owner: 'w/dex/dex', timeoutMs: 300 })).rejects.toMatchObject({
      name: 'ServiceUnavailableError',
      message: expect.stringContaining('the management cluster did not answer within 300 ms'),
    });
    await expect(
      applyToKubeadmControlPlane(kc, settings, { ref, owner: 'w/dex/dex', timeoutMs: 300, apiVersion: 'controlplane.cluster.x-k8s.io/v1beta2' }),
    ).rejects.toThrow('reading KubeadmControlPlane capi/workload-control-plane: the management cluster did not answer within 300 ms');
  });

  it('the status says so instead of failing', async () => {
    const record = { managementCluster: 'management', ...ref, apiVersion: 'controlplane.cluster.x-k8s.io/v1beta2', authentication: 'flags' as const };
    expect(await readKubeadmControlPlaneStatus(kc, record, 'w/dex/dex', 300)).toEqual({
      managementCluster: 'management',
      namespace: 'capi',
      name: 'workload-control-plane',
      authentication: 'flags',
      error: 'The management cluster "management" did not answer within 300 ms',
    });
  });
});
