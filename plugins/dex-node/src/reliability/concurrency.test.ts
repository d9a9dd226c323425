import './fastForge';
import crypto from 'node:crypto';
import YAML from 'yaml';
import { LocalCluster, startLocalCluster } from '@backstage-dex/local-cluster';
import type { KubeConfig } from '@kubernetes/client-node';
import { clientNode } from '../cluster/clientNode';
import { ProvisionResult, provisionPack } from '../provision';
import { adminKubeConfig, clusterSnapshot, packSpec, readSecret, secretValue } from './helpers';

jest.setTimeout(150_000);

/**
 * Checks that the pack in a namespace is one consistent whole: the client secret Dex knows is the
 * one the authenticator gets, the serving certificates are signed by the CA the pack stores, and
 * the Deployments were rendered from the config and certificates that are there now.
 */
async function expectConsistentPack(kc: KubeConfig, namespace: string): Promise<{ caPem: string; clientSecret: string }> {
  const [ca, tls, authTls, clients, config] = await Promise.all(
    ['dex-ca', 'dex-tls', 'dex-authenticator-tls', 'dex-clients', 'dex-config'].map(n => readSecret(kc, namespace, n)),
  );
  const caPem = secretValue(ca, 'tls.crt')!;
  const caCert = new crypto.X509Certificate(caPem);
  expect(caCert.checkPrivateKey(crypto.createPrivateKey(secretValue(ca, 'tls.key')!))).toBe(true);
  for (const s of [tls, authTls]) {
    const cert = new crypto.X509Certificate(secretValue(s, 'tls.crt')!);
    expect({ secret: s.metadata?.name, signedByCa: cert.verify(caCert.publicKey) }).toEqual({ secret: s.metadata?.name, signedByCa: true });
    expect(cert.checkPrivateKey(crypto.createPrivateKey(secretValue(s, 'tls.key')!))).toBe(true);
    expect(secretValue(s, 'ca.crt')).toBe(caPem);
  }

  const clientSecret = secretValue(clients, 'kubernetes')!;
  const configYaml = secretValue(config, 'config.yaml')!;
  const dex = YAML.parse(configYaml);
  expect(dex.staticClients.find((c: { id: string }) => c.id === 'kubernetes').secret).toBe(clientSecret);

  const k8s = await clientNode();
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const [dexDeployment, authDeployment, settings] = await Promise.all([
    apps.readNamespacedDeployment({ name: 'dex', namespace }),
    apps.readNamespacedDeployment({ name: 'dex-authenticator', namespace }),
    core.readNamespacedConfigMap({ name: 'dex-apiserver-settings', namespace }),
  ]);
  const env = authDeployment.spec!.template.spec!.containers[0].env!;
  expect(env.find(e => e.name === 'DEX_CLIENT_SECRET')?.valueFrom?.secretKeyRef).toEqual({ name: 'dex-clients', key: 'kubernetes' });
  const checksum = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
  // The Deployment's checksum was computed from this very config and certificate.
  expect(dexDeployment.spec!.template.metadata!.annotations!['dex.backstage.io/config-checksum']).toBe(
    checksum(configYaml + secretValue(tls, 'tls.crt')!),
  );
  expect(settings.data!['ca.crt']).toBe(caPem);
  return { caPem, clientSecret };
}

describe('concurrent provisions', () => {
  let cluster: LocalCluster;
  let kc: KubeConfig;

  beforeAll(async () => {
    cluster = await startLocalCluster();
    kc = await adminKubeConfig(cluster);
  });
  afterAll(() => cluster?.stop());

  it('20 provisions in parallel on distinct namespaces all succeed, each with its full pack', async () => {
    const namespaces = Array.from({ length: 20 }, (_, i) => `par-${i}`);
    const results = await Promise.allSettled(namespaces.map(ns => provisionPack(kc, packSpec(ns))));
    const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [`${namespaces[i]}: ${(r.reason as Error).message}`] : []));
    expect(failures).toEqual([]);

    const present = await clusterSnapshot(kc);
    for (const r of results as PromiseFulfilledResult<ProvisionResult>[]) {
      const missing = r.value.objects
        .map(o => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`)
        .filter(k => !present.has(k));
      expect(missing).toEqual([]);
      expect(r.value.apply.objects.every(o => o.action === 'create')).toBe(true);
    }
    // Each namespace: one consistent pack, the CA its provision returned.
    const packs = await Promise.all(namespaces.map(ns => expectConsistentPack(kc, ns)));
    packs.forEach((p, i) => expect(p.caPem).toBe((results[i] as PromiseFulfilledResult<ProvisionResult>).value.caPem));
    expect(new Set(packs.map(p => p.clientSecret)).size).toBe(20);
  });

  it('2 provisions on the same namespace at once leave one consistent pack (several trials)', async () => {
    const trials = ['same-0', 'same-1', 'same-2', 'same-3'];
    const outcomes = await Promise.all(
      trials.map(ns => Promise.allSettled([provisionPack(kc, packSpec(ns)), provisionPack(kc, packSpec(ns))])),
    );
    for (const [t, ns] of trials.entries()) {
      const runs = outcomes[t];
      const won = runs.filter(r => r.status === 'fulfilled') as PromiseFulfilledResult<ProvisionResult>[];
      // One wins; the other succeeds with the same pack or fails with a conflict that says so.
      expect(won.length).toBeGreaterThanOrEqual(1);
      for (const r of runs) {
        if (r.status === 'rejected') expect((r.reason as Error).message).toMatch(/conflict|concurrently|changed/i);
      }
      const pack = await expectConsistentPack(kc, ns);
      // What every successful run handed back is what the cluster has.
      for (const r of won) expect(r.value.caPem).toBe(pack.caPem);
      // A later run reuses it all: nothing to write.
      const again = await provisionPack(kc, packSpec(ns));
      expect(again.apply.writes).toBe(0);
      expect(again.caPem).toBe(pack.caPem);
    }
  });
});
