import {
  HangingServer,
  LocalCluster,
  httpsRequest,
  kubeadmControlPlaneCrd,
  startHangingServer,
  startLocalCluster,
} from '@backstage-dex/local-cluster';
import type { KubeConfig } from '@kubernetes/client-node';
import { clientNode } from '../cluster/clientNode';
import { applyToKubeadmControlPlane } from './kubeadmControlPlane';
import { readKubeadmControlPlaneStatus } from './rollout';
import { adminKubeConfig } from '../reliability/helpers';

// A management cluster that accepts connections and never answers: every call must give up on time.
describe('a management cluster that does not answer', () => {
  let hang: HangingServer;
  let kc: KubeConfig;
  beforeAll(async () => {
    hang = await startHangingServer();
    kc = await adminKubeConfig(hang);
  });
  afterAll(() => hang.close());

  const ref = { namespace: 'capi', name: 'workload-control-plane' };

  it('the apply fails with the bound in the message', async () => {
    const settings = {
      args: { 'oidc-issuer-url': 'https://dex.example.com' },
      files: [],
    };
    await expect(
      applyToKubeadmControlPlane(kc, settings, {
        ref,
        owner: 'w/dex/dex',
        timeoutMs: 300,
      }),
    ).rejects.toMatchObject({
      name: 'ServiceUnavailableError',
      message: expect.stringContaining(
        'the management cluster did not answer within 300 ms',
      ),
    });
    await expect(
      applyToKubeadmControlPlane(kc, settings, {
        ref,
        owner: 'w/dex/dex',
        timeoutMs: 300,
        apiVersion: 'controlplane.cluster.x-k8s.io/v1beta2',
      }),
    ).rejects.toThrow(
      'reading KubeadmControlPlane capi/workload-control-plane: the management cluster did not answer within 300 ms',
    );
  });

  it('the status says so instead of failing', async () => {
    const record = {
      managementCluster: 'management',
      ...ref,
      apiVersion: 'controlplane.cluster.x-k8s.io/v1beta2',
      authentication: 'flags' as const,
    };
    expect(
      await readKubeadmControlPlaneStatus(kc, record, 'w/dex/dex', 300),
    ).toEqual({
      managementCluster: 'management',
      namespace: 'capi',
      name: 'workload-control-plane',
      authentication: 'flags',
      error: 'The management cluster "management" did not answer within 300 ms',
    });
  });
});

describe('two runs at once on one KubeadmControlPlane (real apiserver, Cluster API CRD)', () => {
  jest.setTimeout(120_000);
  let cluster: LocalCluster;
  let kc: KubeConfig;
  beforeAll(async () => {
    cluster = await startLocalCluster();
    kc = await adminKubeConfig(cluster);
    const post = async (apiPath: string, object: object) => {
      const body = JSON.stringify(object);
      const res = await httpsRequest(`${cluster.server}${apiPath}`, {
        caPem: cluster.caPem,
        method: 'POST',
        headers: {
          authorization: `Bearer ${cluster.token}`,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
        },
        body,
      });
      return res.status;
    };
    const crd = await post(
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
      kubeadmControlPlaneCrd('v1beta2'),
    );
    const ns = await post('/api/v1/namespaces', { metadata: { name: 'capi' } });
    if (crd !== 201 || ns !== 201)
      throw new Error(`creating the CRD and namespace: HTTP ${crd}, ${ns}`);
    const kcp = {
      apiVersion: 'controlplane.cluster.x-k8s.io/v1beta2',
      kind: 'KubeadmControlPlane',
      metadata: { name: 'workload-control-plane' },
      spec: {
        replicas: 1,
        version: 'v1.35.4',
        machineTemplate: {
          spec: {
            infrastructureRef: {
              apiGroup: 'infrastructure.cluster.x-k8s.io',
              kind: 'DockerMachineTemplate',
              name: 'w',
            },
          },
        },
        kubeadmConfigSpec: {
          files: [
            { path: '/etc/kubernetes/audit-policy.yaml', content: 'rules: []' },
          ],
        },
      },
    };
    // The CRD serves shortly after it is created.
    for (let i = 0; ; i++) {
      const status = await post(
        '/apis/controlplane.cluster.x-k8s.io/v1beta2/namespaces/capi/kubeadmcontrolplanes',
        kcp,
      );
      if (status === 201) break;
      if (i > 60)
        throw new Error(`creating the KubeadmControlPlane: HTTP ${status}`);
      await new Promise(r => setTimeout(r, 500));
    }
  });
  afterAll(() => cluster?.stop());

  it('write once: the run that loses the race reads again and finds nothing to do', async () => {
    const settings = {
      args: {
        'oidc-issuer-url': 'https://dex.example.com',
        'oidc-ca-file': '/etc/kubernetes/pki/dex-ca.crt',
      },
      files: [
        {
          path: '/etc/kubernetes/pki/dex-ca.crt',
          content: 'CA',
          owner: 'root:root',
          permissions: '0644',
        },
      ],
    };
    const options = {
      ref: { namespace: 'capi', name: 'workload-control-plane' },
      owner: 'w/dex/dex',
    };
    // Without the resourceVersion precondition both would write (2); without the retry one would fail.
    const results = await Promise.all([
      applyToKubeadmControlPlane(kc, settings, options),
      applyToKubeadmControlPlane(kc, settings, options),
    ]);
    expect(results.reduce((n, r) => n + r.writes, 0)).toBe(1);
    expect(results.map(r => r.action).sort()).toEqual(['unchanged', 'update']);
    const k8s = await clientNode();
    const kcp = (await kc
      .makeApiClient(k8s.CustomObjectsApi)
      .getNamespacedCustomObject({
        group: 'controlplane.cluster.x-k8s.io',
        version: 'v1beta2',
        namespace: 'capi',
        plural: 'kubeadmcontrolplanes',
        name: 'workload-control-plane',
      })) as any;
    expect(kcp.spec.kubeadmConfigSpec.files.map((f: any) => f.path)).toEqual([
      '/etc/kubernetes/audit-policy.yaml',
      '/etc/kubernetes/pki/dex-ca.crt',
    ]);
  });
});
