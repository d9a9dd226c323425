import { LocalCluster, sharedLocalCluster } from '@backstage-dex/local-cluster';
import { withDefaults } from '@backstage-dex/plugin-dex-common';
import type { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { clientNode } from './cluster/clientNode';
import { certificateInfo } from './pack/certificates';
import { provisionPack } from './provision';
import { adminKubeConfig } from './reliability/helpers';

// The LoadBalancer step against a real kube-apiserver: the test plays the cloud's controller and
// writes the Service's status subresource, as a cloud controller manager does.

jest.setTimeout(180_000);

describe('provisionPack with LoadBalancer Services on a real apiserver', () => {
  let cluster: LocalCluster;
  let kc: KubeConfig;
  let core: CoreV1Api;

  beforeAll(async () => {
    cluster = await sharedLocalCluster();
    const k8s = await clientNode();
    kc = await adminKubeConfig(cluster);
    core = kc.makeApiClient(k8s.CoreV1Api);
  });

  const spec = (namespace: string) =>
    withDefaults({
      cluster: 'local',
      namespace,
      kubernetesId: 'payments-api',
      dex: { exposure: { serviceType: 'LoadBalancer' } },
      authenticator: { exposure: { serviceType: 'LoadBalancer' } },
    });

  /** What a cloud controller does once the load balancer exists: write the Service's status. */
  async function assign(namespace: string, name: string, ingress: object[]) {
    const service = await core.readNamespacedService({ name, namespace });
    service.status = { loadBalancer: { ingress } };
    await core.replaceNamespacedServiceStatus({
      name,
      namespace,
      body: service,
    });
  }

  async function tlsSecret(namespace: string, name: string) {
    const s = await core.readNamespacedSecret({ name, namespace });
    return {
      resourceVersion: s.metadata!.resourceVersion,
      info: certificateInfo(
        Buffer.from(s.data!['tls.crt'], 'base64').toString('utf8'),
      ),
    };
  }

  it('waits for the addresses the controller writes, derives the URLs from them, keeps them on a re-run and re-issues the serving certificate when the address moves', async () => {
    const ns = 'lb-provision';
    const lines: string[] = [];
    const answered = new Set<string>();
    const answers: Record<string, object[]> = {
      dex: [{ ip: '203.0.113.20' }],
      'dex-authenticator': [{ hostname: 'login.lb.example.net' }],
    };
    const pending: Promise<void>[] = [];
    const first = await provisionPack(kc, spec(ns), {
      loadBalancer: { timeoutMs: 120_000, pollMs: 200, progressMs: 0 },
      log: line => {
        lines.push(line);
        const waiting =
          /^waiting for LoadBalancer address of lb-provision\/(\S+) /.exec(
            line,
          );
        if (waiting && !answered.has(waiting[1])) {
          answered.add(waiting[1]);
          pending.push(assign(ns, waiting[1], answers[waiting[1]]));
        }
      },
    });
    await Promise.all(pending);
    expect(answered).toEqual(new Set(['dex', 'dex-authenticator']));
    expect(first.issuerUrl).toBe('https://203.0.113.20:5556/dex');
    expect(first.authenticatorUrl).toBe('https://login.lb.example.net:5555');
    const settings = await core.readNamespacedConfigMap({
      name: 'dex-apiserver-settings',
      namespace: ns,
    });
    expect(settings.data!['issuer-url']).toBe('https://203.0.113.20:5556/dex');
    const authConfig = await core.readNamespacedConfigMap({
      name: 'dex-authenticator',
      namespace: ns,
    });
    expect(authConfig.data!['config.yaml']).toContain(
      'https://login.lb.example.net:5555/callback/local',
    );
    const dexTls = await tlsSecret(ns, 'dex-tls');
    expect(dexTls.info.ipAddresses).toContain('203.0.113.20');
    expect(
      (await tlsSecret(ns, 'dex-authenticator-tls')).info.dnsNames,
    ).toContain('login.lb.example.net');
    expect(
      first.apply.objects.find(o => o.kind === 'Service' && o.name === 'dex')
        ?.action,
    ).toBe('create');

    // Re-run, same address: nothing written, nothing waited for.
    const rerunLines: string[] = [];
    const again = await provisionPack(kc, spec(ns), {
      log: l => rerunLines.push(l),
    });
    expect(again.apply.writes).toBe(0);
    expect(again.issuerUrl).toBe(first.issuerUrl);
    expect(rerunLines.some(l => l.startsWith('waiting for'))).toBe(false);
    expect((await tlsSecret(ns, 'dex-tls')).resourceVersion).toBe(
      dexTls.resourceVersion,
    );

    // The cloud moves Dex's load balancer: the next run follows it with a new serving certificate.
    await assign(ns, 'dex', [{ ip: '198.51.100.20' }]);
    const moved = await provisionPack(kc, spec(ns));
    expect(moved.issuerUrl).toBe('https://198.51.100.20:5556/dex');
    expect(moved.caPem).toBe(first.caPem);
    expect(moved.generated).toEqual(['Dex serving certificate (dex-tls)']);
    expect((await tlsSecret(ns, 'dex-tls')).info.ipAddresses).toEqual([
      '198.51.100.20',
    ]);
  });

  it('fails after the bound, naming the Service and what to do, with only the namespace and Services written', async () => {
    const ns = 'lb-timeout';
    await expect(
      provisionPack(kc, spec(ns), {
        loadBalancer: { timeoutMs: 1_000, pollMs: 200 },
      }),
    ).rejects.toThrow(
      /Service lb-timeout\/dex(-authenticator)? got no LoadBalancer address within 1 s.*dex\.issuerUrl.*Ingress.*LoadBalancer controller/,
    );
    const services = await core.listNamespacedService({ namespace: ns });
    expect(services.items.map(s => s.metadata!.name).sort()).toEqual([
      'dex',
      'dex-authenticator',
    ]);
    const secrets = await core.listNamespacedSecret({ namespace: ns });
    expect(
      secrets.items.filter(s => s.metadata!.name!.startsWith('dex')),
    ).toEqual([]);
  });
});
